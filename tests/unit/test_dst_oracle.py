"""Crontab next runs against an independent brute-force oracle, around every DST transition.

The oracle shares no code with the implementation: it parses the five fields with
its own small parser (lists, ranges, steps, names, ``7`` for Sunday, ranges that
wrap), walks real (UTC) minutes, reads each as wall time in the zone, matches the
fields, and applies the rules
of the README's "Time" section (gap: a restricted hour runs once at the first
instant after the gap, hour ``*`` loses the missing minutes; fold: a restricted
hour runs at the first occurrence only, hour ``*`` in both). No difference is
allowed. CI runs 5,000 cases (``HYPOTHESIS_PROFILE=oracle``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import assume, find, given
from hypothesis import strategies as st

from django_periodic.timing.cron import CronFieldError, CronSpec
from django_periodic.timing.cron_times import next_cron_run

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

# -- the oracle's own crontab parser ------------------------------------------------

MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
WEEKDAY_NAMES = {
    name: number for number, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])
}
#: each field's lowest and highest value and the names it takes (day of week: 0-7, 7 is Sunday)
DOMAINS = {
    "minute": (0, 59, {}),
    "hour": (0, 23, {}),
    "day_of_month": (1, 31, {}),
    "month_of_year": (1, 12, MONTH_NAMES),
    "day_of_week": (0, 7, WEEKDAY_NAMES),
}


@dataclass(frozen=True)
class Spec:
    """The fields as sets of values, as cron reads them."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_week: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    hour_restricted: bool


def parse_cron_field(name: str, text: str) -> frozenset[int]:
    """One field: ``*``, ``n``, ``a-b`` (wrapping when a > b), ``*/s``, ``a-b/s``, lists, names."""
    low, high, names = DOMAINS[name]

    def number(word: str) -> int:
        return names[word] if word in names else int(word)

    values: set[int] = set()
    for part in text.lower().split(","):
        body, _slash, step = part.partition("/")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, b = body.split("-")
            first, last = number(a), number(b)
        else:
            first = last = number(body)
        span = (
            list(range(first, last + 1))
            if first <= last
            else [*range(first, high + 1), *range(low, last + 1)]
        )
        values.update(span[:: int(step) if step else 1])
    if name == "day_of_week":
        values = {value % 7 for value in values}
    return frozenset(values)


def parse_cron(minute: str, hour: str, day_of_week: str, day_of_month: str, month_of_year: str) -> Spec:
    return Spec(
        minutes=parse_cron_field("minute", minute),
        hours=parse_cron_field("hour", hour),
        days_of_week=parse_cron_field("day_of_week", day_of_week),
        days_of_month=parse_cron_field("day_of_month", day_of_month),
        months=parse_cron_field("month_of_year", month_of_year),
        hour_restricted=hour != "*",
    )


def test_the_oracles_parser():
    assert parse_cron_field("minute", "*/15") == {0, 15, 30, 45}
    assert parse_cron_field("hour", "9-17/4,23") == {9, 13, 17, 23}
    assert parse_cron_field("day_of_week", "5-7") == {5, 6, 0}
    assert parse_cron_field("day_of_week", "fri-mon") == {5, 6, 0, 1}
    assert parse_cron_field("day_of_week", "7") == {0}
    assert parse_cron_field("month_of_year", "nov-feb") == {11, 12, 1, 2}
    assert parse_cron_field("month_of_year", "*/5") == {1, 6, 11}
    assert parse_cron_field("day_of_month", "30-31,1") == {1, 30, 31}


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


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


def matches(spec: Spec, wall: datetime) -> bool:
    return (
        wall.month in spec.months
        and wall.day in spec.days_of_month
        and wall.isoweekday() % 7 in spec.days_of_week
        and wall.hour in spec.hours
        and wall.minute in spec.minutes
    )


def oracle(spec: Spec, tz: ZoneInfo, after: datetime, zone: str) -> datetime | None:
    """The first run strictly after ``after`` within HORIZON, by walking minutes.

    Far from a transition (wall time and UTC then move together) it may jump over
    wall hours and days that cannot match; near one it steps minute by minute.
    """
    changes = transitions(zone)
    start = utc(after).replace(second=0, microsecond=0)
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
    """Crontab text for one field: *, or a list of values, names, ranges and steps."""
    low, high = values.start, values.stop - 1
    value = st.integers(low, high)
    ordered = st.tuples(value, value).map(sorted)
    part = st.one_of(
        value.map(str),
        ordered.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(ordered, st.integers(2, 7)).map(lambda a: f"{a[0][0]}-{a[0][1]}/{a[1]}"),
        st.integers(2, max(2, high // 2)).map(lambda step: f"*/{step}"),
        *(st.just(name) for name in names),
    )
    return st.one_of(st.just("*"), st.lists(part, min_size=1, max_size=3).map(",".join))


MONTHS = ("jan", "mar", "oct", "nov-feb", "mar-apr", "sep-nov", "*/3")
WEEKDAYS = ("mon-fri", "sat,sun", "5-7", "7", "sun", "fri-mon", "tue-thu")


@st.composite
def cases(draw):
    zone = draw(st.sampled_from(ZONES))
    moments = transitions(zone)
    around = draw(st.sampled_from(moments))
    offset = draw(st.integers(-36 * 60 * 60, 36 * 60 * 60))
    after = around + timedelta(seconds=offset)
    month = draw(field(range(1, 13), MONTHS))
    if month != "*" and draw(st.booleans()):
        # keep the month of the transition in the field often, so the walk finds runs
        month += f",{around.astimezone(ZoneInfo(zone)).month}"
    expression = (
        draw(field(range(0, 60))),
        draw(field(range(0, 24))),
        draw(st.one_of(st.just("*"), field(range(0, 8), WEEKDAYS))),
        draw(st.one_of(st.just("*"), st.just("*"), field(range(1, 32)))),
        month,
    )
    return zone, after, expression


@given(cases())
def test_next_run_equals_the_oracle_around_dst(case):
    zone, after, fields = case
    tz = ZoneInfo(zone)
    try:
        spec = CronSpec.parse(*fields)
    except CronFieldError as exc:
        assume(exc.code == "impossible_date")  # 30 February: refused, rightly
        raise
    expected = oracle(parse_cron(*fields), tz, after, zone)
    got = next_cron_run(spec, tz, after)
    if expected is None:
        assert got is None or got >= utc(after) + HORIZON, (zone, after.isoformat(), fields)
    else:
        assert got == expected, (zone, after.isoformat(), fields)


def test_the_month_field_is_varied():
    """The generated cases restrict the month, so a month rule that broke would show."""
    found = find(cases(), lambda case: case[2][4] not in ("*",) and "-" in case[2][4])
    assert found[2][4] != "*"


def test_every_zone_has_transitions_in_range():
    assert len(ZONES) >= 20
    assert all(len(transitions(zone)) >= 4 for zone in ZONES)
