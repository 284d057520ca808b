"""Celery schedule objects built on the pure time math in :mod:`.timemath`.

``CrontabSchedule.schedule`` returns a :class:`TzAwareCrontab`, a real
``celery.schedules.crontab`` whose next run comes from :func:`next_cron_run`, so
beat, the admin preview and the ``next`` command share one implementation.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from celery import schedules as celery_schedules

from .cron import CronSpec
from .cron_times import next_cron_run, to_utc, zone

__all__ = ["NEVER_CHECK_TIMEOUT", "TzAwareCrontab", "clocked", "solar_next_run"]

#: Seconds to wait before looking again at a schedule that will never run.
NEVER_CHECK_TIMEOUT = 100_000_000


class TzAwareCrontab(celery_schedules.crontab):
    """A crontab read in its own IANA time zone, with the documented DST rules."""

    def __init__(
        self,
        minute: str = "*",
        hour: str = "*",
        day_of_week: str = "*",
        day_of_month: str = "*",
        month_of_year: str = "*",
        tz: tzinfo | str = UTC,
        **kwargs: Any,
    ) -> None:
        self.spec = CronSpec.parse(minute, hour, day_of_week, day_of_month, month_of_year)
        self.tz = zone(tz)
        super().__init__(
            minute=set(self.spec.minutes),
            hour=set(self.spec.hours),
            day_of_week=set(self.spec.days_of_week),
            day_of_month=set(self.spec.days_of_month),
            month_of_year=set(self.spec.months),
            **kwargs,
        )
        self._orig_minute, self._orig_hour = str(minute), str(hour)
        self._orig_day_of_week, self._orig_day_of_month = str(day_of_week), str(day_of_month)
        self._orig_month_of_year = str(month_of_year)

    def next_run(self, after: datetime) -> datetime | None:
        """The first run strictly after ``after`` (aware), as aware UTC."""
        return next_cron_run(self.spec, self.tz, after)

    def now(self) -> datetime:
        return to_utc(self.nowfun()) if self.nowfun else datetime.now(UTC)

    def remaining_estimate(self, last_run_at: datetime, ffwd: Any = None) -> timedelta:
        nxt = self.next_run(self._aware(last_run_at))
        if nxt is None:
            return timedelta(seconds=NEVER_CHECK_TIMEOUT)
        return nxt - self.now()

    def is_due(self, last_run_at: datetime) -> celery_schedules.schedstate:
        now = self.now()
        nxt = self.next_run(self._aware(last_run_at))
        if nxt is not None and nxt <= now:
            following = self.next_run(now)
            wait = (following - now).total_seconds() if following else NEVER_CHECK_TIMEOUT
            return celery_schedules.schedstate(True, wait)
        wait = (nxt - now).total_seconds() if nxt else NEVER_CHECK_TIMEOUT
        return celery_schedules.schedstate(False, wait)

    def _aware(self, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def __repr__(self) -> str:
        return (
            f"<crontab: {self._orig_minute} {self._orig_hour} {self._orig_day_of_month} "
            f"{self._orig_month_of_year} {self._orig_day_of_week} (m/h/dM/MY/d) {self.tz}>"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            self.__class__,
            (
                self._orig_minute,
                self._orig_hour,
                self._orig_day_of_week,
                self._orig_day_of_month,
                self._orig_month_of_year,
                str(self.tz),
            ),
        )

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, TzAwareCrontab):
            return self.spec == other.spec and str(self.tz) == str(other.tz)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class clocked(celery_schedules.BaseSchedule):  # noqa: N801 - Celery's naming
    """Runs once, at ``clocked_time``; a time already past runs at once."""

    def __init__(self, clocked_time: datetime, nowfun: Any = None, app: Any = None):
        self.clocked_time = to_utc(clocked_time)
        super().__init__(nowfun=nowfun, app=app)

    def now(self) -> datetime:
        return to_utc(self.nowfun()) if self.nowfun else datetime.now(UTC)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        return self.clocked_time - self.now()

    def is_due(self, last_run_at: datetime) -> celery_schedules.schedstate:
        remaining = self.remaining_estimate(last_run_at).total_seconds()
        if remaining <= 0:
            return celery_schedules.schedstate(True, NEVER_CHECK_TIMEOUT)
        return celery_schedules.schedstate(False, remaining)

    def __repr__(self) -> str:
        return f"<clocked: {self.clocked_time}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (self.clocked_time,)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, clocked):
            return self.clocked_time == other.clocked_time
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


@functools.lru_cache(maxsize=8192)
def shared_crontab(
    minute: str, hour: str, day_of_week: str, day_of_month: str, month_of_year: str, tz: str
) -> TzAwareCrontab:
    """One schedule object per distinct crontab: parsing is the costly part of loading
    many tasks, and tasks that share fields share the (never mutated) object."""
    return TzAwareCrontab(minute, hour, day_of_week, day_of_month, month_of_year, tz=tz)


@functools.lru_cache(maxsize=8192)
def shared_interval(every: timedelta) -> celery_schedules.schedule:
    """One Celery interval schedule per distinct length (see :func:`shared_crontab`)."""
    return celery_schedules.schedule(every)


def solar_next_run(event: str, lat: float, lon: float, after: datetime) -> datetime:
    """The first ``event`` (sunrise, dusk_civil ...) at a place strictly after ``after``.

    Needs the ``solar`` extra (ephem); raises ImportError without it.
    """
    after = to_utc(after)
    sched = celery_schedules.solar(event, lat, lon, nowfun=lambda: after)
    return after + sched.remaining_estimate(after)
