"""Next-run arithmetic: pure functions of an instant, no database, no clock.

Every function takes aware datetimes and returns aware UTC datetimes. Crontab
fields are matched in the schedule's own time zone with the daylight-saving
rules of TIME-SEMANTICS (README, "Time"): a matching wall time that falls in a
gap runs once at the first instant after the gap when the hour is restricted,
and is skipped when the hour is ``*``; a matching wall time that happens twice
runs once (first occurrence) when the hour is restricted, and twice when the
hour is ``*`` (the schedule keeps running every real hour).
"""

from __future__ import annotations

import bisect
import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from .cron import CronSpec

__all__ = [
    "cron_runs",
    "next_cron_run",
    "next_interval_run",
    "to_utc",
]

#: How far ahead a crontab is searched before it is declared never to run
#: (Feb 29 on a given weekday recurs within 28 years).
SEARCH_YEARS = 30
_ONE_DAY = timedelta(days=1)


def to_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; naive values are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
    return value.astimezone(UTC)


def next_interval_run(last: datetime, every: timedelta, after: datetime) -> datetime:
    """The first instant of the grid ``last + k * every`` strictly after ``after``."""
    last, after = to_utc(last), to_utc(after)
    if every <= timedelta(0):
        raise ValueError("interval must be positive")
    if last > after:
        return last
    steps = (after - last) // every + 1
    return last + steps * every


def _day_matches(spec: CronSpec, day: date) -> bool:
    # Celery's rule: month, day of month and day of week must all match.
    return (
        day.month in spec.months
        and day.day in spec.days_of_month
        and (day.isoweekday() % 7) in spec.days_of_week
    )


def _exists(wall: datetime, tz: tzinfo) -> bool:
    back = wall.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == wall.replace(tzinfo=None, fold=0)


def _gap_end(wall: datetime, tz: tzinfo) -> datetime:
    """First real instant after the daylight-saving gap that swallows ``wall``."""
    lo = wall.replace(fold=1).astimezone(UTC)  # read with the offset after the gap
    hi = wall.replace(fold=0).astimezone(UTC)  # read with the offset before it
    if lo > hi:
        lo, hi = hi, lo
    before = lo.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _day_runs_slow(spec: CronSpec, day: date, tz: tzinfo) -> list[datetime]:
    """All runs of one local day, with the gap and fold rules (transition days)."""
    runs: set[datetime] = set()
    for hour in spec.hours:
        for minute in spec.minutes:
            wall = datetime.combine(day, time(hour, minute), tzinfo=tz)
            if not _exists(wall, tz):
                if spec.hour_restricted:
                    runs.add(_gap_end(wall, tz))
                continue
            first = wall.replace(fold=0).astimezone(UTC)
            runs.add(first)
            second = wall.replace(fold=1).astimezone(UTC)
            if second != first and not spec.hour_restricted:
                runs.add(second)
    return sorted(runs)


def _offset(day: date, tz: tzinfo) -> timedelta | None:
    return datetime.combine(day, time(0), tzinfo=tz).utcoffset()


def _first_run_of_day(spec: CronSpec, day: date, tz: tzinfo, after: datetime) -> datetime | None:
    """First run on local ``day`` strictly after ``after`` (UTC), or None."""
    offset = _offset(day, tz)
    if offset is None or offset != _offset(day + _ONE_DAY, tz):
        for run in _day_runs_slow(spec, day, tz):
            if run > after:
                return run
        return None
    # No transition on this day: wall time and UTC differ by one fixed offset.
    local_after = (after + offset).replace(tzinfo=None)
    start_hour = 0
    if local_after.date() > day:
        return None
    if local_after.date() == day:
        start_hour = local_after.hour
    i = bisect.bisect_left(spec.hours, start_hour)
    for hour in spec.hours[i:]:
        minute_floor = 0
        if local_after.date() == day and hour == local_after.hour:
            # strictly after: a run at this minute counts only if later than `after`
            minute_floor = local_after.minute + 1
        j = bisect.bisect_left(spec.minutes, minute_floor)
        if j < len(spec.minutes):
            wall = datetime.combine(day, time(hour, spec.minutes[j]))
            return (wall - offset).replace(tzinfo=UTC)
    return None


def next_cron_run(spec: CronSpec, tz: tzinfo, after: datetime) -> datetime | None:
    """The first run of ``spec`` in zone ``tz`` strictly after ``after``.

    Returns an aware UTC datetime, or None if the fields never match again
    within :data:`SEARCH_YEARS` (for instance 30 February).
    """
    after = to_utc(after)
    day = (after.astimezone(tz) - _ONE_DAY).date()
    last_day = day + timedelta(days=366 * SEARCH_YEARS)
    while day <= last_day:
        if day.month not in spec.months:
            # jump to the first day of the next month
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            continue
        if _day_matches(spec, day):
            run = _first_run_of_day(spec, day, tz, after)
            if run is not None:
                # A transition at local midnight can reorder two days' runs.
                nxt = day + _ONE_DAY
                if _day_matches(spec, nxt):
                    other = _first_run_of_day(spec, nxt, tz, after)
                    if other is not None and other < run:
                        return other
                return run
        day += _ONE_DAY
    return None


def cron_runs(spec: CronSpec, tz: tzinfo, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` runs strictly after ``after``."""
    runs: list[datetime] = []
    current = to_utc(after)
    while len(runs) < count:
        run = next_cron_run(spec, tz, current)
        if run is None:
            break
        runs.append(run)
        current = run
    return runs


@functools.cache
def zone_names() -> frozenset[str]:
    """The IANA zone names this system knows: a walk of the zone files, so done once."""
    return frozenset(zoneinfo.available_timezones())


def zone(name: str | tzinfo) -> tzinfo:
    """A tzinfo from an IANA name (or a tzinfo, returned as it is)."""
    return ZoneInfo(name) if isinstance(name, str) else name
