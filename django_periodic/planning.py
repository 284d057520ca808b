"""When a task runs next: pure functions over its schedule and run state.

No database and no clock: callers pass ``now``. Beat, the admin preview and the
``periodic_tasks next`` command all come here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import schedules as celery_schedules

from .schedules import TzAwareCrontab, clocked, solar_next_run
from .timemath import to_utc

_TICK = timedelta(microseconds=1)


def next_run(schedule: Any, after: datetime) -> datetime | None:
    """The first run of ``schedule`` strictly after ``after`` (aware UTC), or None."""
    after = to_utc(after)
    if isinstance(schedule, TzAwareCrontab):
        return schedule.next_run(after)
    if isinstance(schedule, clocked):
        return schedule.clocked_time if schedule.clocked_time > after else None
    if isinstance(schedule, celery_schedules.solar):
        return solar_next_run(schedule.event, schedule.lat, schedule.lon, after)
    if isinstance(schedule, celery_schedules.crontab):
        # a plain Celery crontab (from beat_schedule): read in UTC
        return TzAwareCrontab(
            schedule._orig_minute,
            schedule._orig_hour,
            schedule._orig_day_of_week,
            schedule._orig_day_of_month,
            schedule._orig_month_of_year,
            tz=UTC,
        ).next_run(after)
    if isinstance(schedule, celery_schedules.schedule):
        return after + schedule.run_every
    raise TypeError(f"unknown schedule type {type(schedule).__name__}")


@dataclass(frozen=True)
class RunState:
    """What the plan needs to know of a task besides its schedule."""

    last_run_at: datetime | None
    start_time: datetime | None = None
    expires: datetime | None = None
    #: when the task was created or last changed: an interval's first run is one
    #: interval after it
    anchor: datetime | None = None
    #: Celery's ``beat_cron_starting_deadline``: a missed run older than this many
    #: seconds is skipped rather than caught up
    starting_deadline: float | None = None


def _is_interval(schedule: Any) -> bool:
    return type(schedule) is celery_schedules.schedule


def first_run(schedule: Any, state: RunState, now: datetime) -> datetime | None:
    """The next run for a task as loaded from the database (beat start or an edit).

    A run missed while beat was away runs once (Celery's catch-up), unless it is
    older than ``starting_deadline``. None means the task will not run again.
    """
    now = to_utc(now)
    start = to_utc(state.start_time) if state.start_time else None
    if isinstance(schedule, clocked):
        planned = None if state.last_run_at else schedule.clocked_time
    elif state.last_run_at is not None:
        planned = next_run(schedule, state.last_run_at)
        if (
            planned is not None
            and state.starting_deadline is not None
            and planned < now - timedelta(seconds=state.starting_deadline)
        ):
            planned = next_run(schedule, now)
    elif _is_interval(schedule):
        planned = start if start else to_utc(state.anchor or now) + schedule.run_every
    else:
        planned = next_run(schedule, max(now, start - _TICK) if start else now)
    return _bounded(schedule, planned, start, state.expires)


def run_after(schedule: Any, slot: datetime, now: datetime, state: RunState) -> datetime | None:
    """The run that follows the run of ``slot`` sent at ``now``; missed slots are skipped."""
    if isinstance(schedule, clocked):
        return None
    planned = next_run(schedule, slot)
    if planned is not None and planned <= to_utc(now):
        planned = next_run(schedule, now)
    start = to_utc(state.start_time) if state.start_time else None
    return _bounded(schedule, planned, start, state.expires)


def _bounded(
    schedule: Any, planned: datetime | None, start: datetime | None, expires: datetime | None
) -> datetime | None:
    if planned is not None and start is not None and planned < start:
        planned = start if _is_interval(schedule) else next_run(schedule, start - _TICK)
    if planned is not None and expires is not None and planned > to_utc(expires):
        return None
    return planned


def upcoming_runs(schedule: Any, state: RunState, now: datetime, count: int) -> list[datetime]:
    """The next ``count`` runs, as beat would send them if nothing changed."""
    runs: list[datetime] = []
    planned = first_run(schedule, state, now)
    while planned is not None and len(runs) < count:
        runs.append(planned)
        planned = run_after(schedule, planned, max(planned, to_utc(now)), state)
    return runs
