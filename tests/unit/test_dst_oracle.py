"""Crontab next runs against an independent brute-force oracle, around every DST transition.

The oracle knows nothing of the implementation: it walks real (UTC) minutes,
reads each as wall time in the zone, matches the fields, and applies the rules
of the README's "Time" section (gap: a restricted hour runs once at the first
instant after the gap, hour ``*`` loses the missing minutes; fold: a restricted
hour runs at the first occurrence only, hour ``*`` in both). No difference is
allowed. CI runs 10,000 cases (``HYPOTHESIS_PROFILE=oracle``).
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from django_periodic.timing.cron import CronSpec
from django_periodic.timing.cron_times import next_cron_run, to_utc

#: Zones with daylight saving in 2026-2027, chosen for their odd cases: 30-minute
#: shifts (Lord Howe), transitions at midnight (Havana, Azores, Santiago), negative
#: DST (Dublin), two-hour shifts (Troll), southern hemisphere, 45-minute offsets.
ZONES = [
    "Europe/Berlin", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Atlantic/Azores",
    "Europe/Chisinau", "America/New_York", "America/Chicago", "America/Los_Angeles",
    "America/Halifax", "America/St_Johns", "America/Havana", "America/Santiago", "Pacific/Easter",
    "America/Nuuk", "Australia/Sydney", "Australia/Adelaide", "Australia/Lord_Howe",
    "Pacific/Auckland", "Pacific/Chatham", "Africa/Casablanca", "Asia/Jerusalem", "Asia/Beirut",
    "Antarctica/Troll", "Africa/Cairo",
]  # fmt: skip

HORIZON = timedelta(days=3)


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """Every instant in 2026-2027 at which the zone's UTC offset changes."""
    tz = ZoneInfo(zone)
    found, t = [], datetime(2026, 1, 1, tzinfo=UTC)
    offset = t.astimezone(tz).utcoffset()
    while t < datetime(2028, 1, 1, tzinfo=UTC):
        nxt = t + timedelta(hours=1)
        if nxt.astimezone(tz).utcoffset() != offset:
            lo, hi = t, nxt  # narrow to the minute
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if mid.astimezone(tz).utcoffset() == offset else (lo, mid)
            found.append(hi)
            offset = nxt.astimezone(tz).utcoffset()
        t = nxt
    return tuple(found)


def matches(spec: CronSpec, wall: datetime) -> bool:
    return (
        wall.month in spec.months
        and wall.day in spec.days_of_month
        and wall.isoweekday() % 7 in spec.days_of_week
        and wall.hour in spec.hours
        and wall.minute in spec.minutes
    )


def oracle(spec: CronSpec, tz: ZoneInfo, after: datetime, zone: str) -> datetime | None:
    """The first run strictly after ``after`` within HORIZON, by walking minutes.

    Far from a transition (wall time and UTC then move together) it may jump over
    wall hours and days that cannot match; near one it steps minute by minute.
    """
    changes = transitions(zone)
    start = to_utc(after).replace(second=0, microsecond=0)
    previous_wall = start.astimezone(tz).replace(tzinfo=None, fold=0)
    instant = start
    while instant < start + HORIZON:
        step = timedelta(minutes=1)
        wall_now = instant.astimezone(tz).replace(tzinfo=None)
        day_ok = (
            wall_now.month in spec.months
            and wall_now.day in spec.days_of_month
            and wall_now.isoweekday() % 7 in spec.days_of_week
        )
        if not day_ok or wall_now.hour not in spec.hours:
            unit = timedelta(days=1) if not day_ok else timedelta(hours=1)
            floor = wall_now.replace(minute=0, second=0, hour=0 if not day_ok else wall_now.hour)
            jump = floor + unit - wall_now  # to the next wall day / hour
            index = bisect.bisect_right(changes, instant)
            if jump > step and (index == len(changes) or changes[index] > instant + jump + step):
                step = jump - step  # land one minute before it; the walk below takes it
        instant += step
        if step > timedelta(minutes=1):
            previous_wall = instant.astimezone(tz).replace(tzinfo=None, fold=0)
            continue
        local = instant.astimezone(tz)
        wall = local.replace(tzinfo=None, fold=0)
        if spec.hour_restricted and wall > previous_wall + timedelta(minutes=1):
            skipped = previous_wall + timedelta(minutes=1)
            while skipped < wall:  # wall minutes the gap swallowed
                if matches(spec, skipped) and instant > after:
                    return instant
                skipped += timedelta(minutes=1)
        previous_wall = wall
        if instant <= after or not matches(spec, wall):
            continue
        second_occurrence = local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()
        if spec.hour_restricted and second_occurrence:
            continue
        return instant
    return None


def field(values: range, names: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Crontab text for one field: *, a value, a list, a range or a step."""
    low, high = values.start, values.stop - 1
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        value.map(str),
        st.lists(value, min_size=2, max_size=4, unique=True).map(lambda v: ",".join(map(str, v))),
        st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.integers(2, max(2, high // 2)).map(lambda step: f"*/{step}"),
        st.tuples(value, st.integers(2, 7)).map(lambda a: f"{a[0]}-{high}/{a[1]}"),
        *(st.just(name) for name in names),
    )


expressions = st.tuples(
    field(range(0, 60)),
    field(range(0, 24)),
    st.one_of(st.just("*"), field(range(0, 8), ("mon-fri", "sat,sun", "5-7"))),
    st.one_of(st.just("*"), st.just("*"), field(range(1, 32))),
)


@st.composite
def cases(draw):
    zone = draw(st.sampled_from(ZONES))
    moments = transitions(zone)
    around = draw(st.sampled_from(moments))
    offset = draw(st.integers(-36 * 60 * 60, 36 * 60 * 60))
    return zone, around + timedelta(seconds=offset), draw(expressions)


@given(cases())
def test_next_run_equals_the_oracle_around_dst(case):
    zone, after, (minute, hour, day_of_week, day_of_month) = case
    tz = ZoneInfo(zone)
    spec = CronSpec.parse(minute, hour, day_of_week, day_of_month)
    expected = oracle(spec, tz, after, zone)
    got = next_cron_run(spec, tz, after)
    if expected is None:
        assert got is None or got >= to_utc(after) + HORIZON
    else:
        assert got == expected, (zone, after.isoformat(), minute, hour, day_of_week, day_of_month)


def test_every_zone_has_transitions_in_range():
    assert len(ZONES) >= 20
    assert all(len(transitions(zone)) >= 4 for zone in ZONES)
