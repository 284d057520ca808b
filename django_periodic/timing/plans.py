"""When a task runs next: pure functions over its schedule and run state.

No database and no clock: callers pass ``now``. Beat, the admin preview and the
``periodic_tasks next`` command all come here.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import schedules as celery_schedules

from .cron_times import to_utc
from .schedules import TzAwareCrontab, clocked, solar_next_run

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
        try:
            return after + schedule.run_every
        except OverflowError:
            raise OverflowError(f"the run after {after.isoformat()} would come after the year 9999") from None
    raise TypeError(f"unknown schedule type {type(schedule).__name__}")


#: What to do with runs that fell due while beat could not send (beat or the
#: database was down) and are later than the task's grace period.
MISSED_ONCE = "once"  # they collapse into one catch-up run (Celery's behaviour)
MISSED_SKIP = "skip"  # none of them runs; the task goes on at its next slot
MISSED_ALL = "all"  # each runs, oldest first, up to a limit (the most recent ones)


@dataclass(frozen=True, slots=True)
class RunState:
    """What the plan needs to know of a task besides its schedule."""

    last_run_at: datetime | None
    start_time: datetime | None = None
    expires: datetime | None = None
    #: when the task was created or last changed: an interval's first run is one
    #: interval after it
    anchor: datetime | None = None
    #: Celery's ``beat_cron_starting_deadline``: for crontabs with the default
    #: policy, a missed run older than this many seconds is skipped
    starting_deadline: float | None = None
    #: the missed-run policy: MISSED_ONCE, MISSED_SKIP or MISSED_ALL
    missed: str = MISSED_ONCE
    #: with MISSED_ALL, how many missed runs are sent at most
    missed_limit: int = 10
    #: how late (seconds) a run may go out and still count as on time
    grace: float | None = None


def _is_interval(schedule: Any) -> bool:
    return type(schedule) is celery_schedules.schedule


#: A run that goes out this late is still on time, whatever the grace period: beat wakes at
#: a run's due time, but a busy tick (a burst of thousands of runs) may take seconds.
ON_TIME = timedelta(seconds=5)


def _policy(schedule: Any, state: RunState) -> tuple[str, timedelta]:
    """The missed-run policy in force and its grace period (at least :data:`ON_TIME`)."""
    if state.grace is not None:
        return state.missed, max(timedelta(seconds=state.grace), ON_TIME)
    if state.missed == MISSED_ONCE and state.starting_deadline is not None and not _is_interval(schedule):
        return MISSED_SKIP, max(timedelta(seconds=state.starting_deadline), ON_TIME)
    return state.missed, ON_TIME


def is_missed(schedule: Any, state: RunState, slot: datetime, now: datetime) -> bool:
    """Whether the run of ``slot`` is too late to send under the task's policy: under
    MISSED_SKIP, any run past its grace; under MISSED_ALL, a run older than the most
    recent ``missed_limit`` ones (beat could not tick for a while)."""
    policy, grace = _policy(schedule, state)
    now = to_utc(now)
    if policy == MISSED_SKIP:
        return slot < now - grace
    if policy == MISSED_ALL and slot < now - grace:
        recent = most_recent_runs(schedule, slot, now, max(state.missed_limit, 1))
        return bool(recent) and slot < recent[0]
    return False


def _catch_up(schedule: Any, state: RunState, planned: datetime | None, now: datetime) -> datetime | None:
    """Apply the missed-run policy to ``planned``, the first slot not yet run."""
    if planned is None or planned >= now:
        return planned
    policy, grace = _policy(schedule, state)
    if planned >= now - grace or policy == MISSED_ONCE:
        return planned  # due now: on time, or the one catch-up run
    if policy == MISSED_SKIP:
        return next_run(schedule, now)
    recent = most_recent_runs(schedule, planned, now, max(state.missed_limit, 1))
    return recent[0] if recent else next_run(schedule, now)


def most_recent_runs(schedule: Any, first: datetime, now: datetime, limit: int) -> list[datetime]:
    """The last ``limit`` runs from ``first`` (a run) to ``now``, oldest first.

    The cost does not grow with the length of the outage: an interval's runs are
    counted, and other schedules are walked over a window back from ``now`` that
    grows fourfold until it holds ``limit`` runs or reaches ``first``.
    """
    if first > now:
        return []
    if _is_interval(schedule):
        every = schedule.run_every
        last = (now - first) // every
        return [first + every * index for index in range(max(last - limit + 1, 0), last + 1)]
    window = timedelta(minutes=limit)
    while True:
        start = now - window
        recent: deque[datetime] = deque(maxlen=limit)
        slot = first if start <= first else next_run(schedule, start)
        while slot is not None and slot <= now:
            recent.append(slot)
            slot = next_run(schedule, slot)
        if len(recent) >= limit or start <= first:
            return list(recent)
        window *= 4


def first_run(schedule: Any, state: RunState, now: datetime) -> datetime | None:
    """The next run for a task as loaded from the database (beat start or an edit).

    Runs missed while beat was away follow the task's policy (one catch-up run by
    default, as Celery does). None means the task will not run again.
    """
    now = to_utc(now)
    start = to_utc(state.start_time) if state.start_time else None
    if isinstance(schedule, clocked):
        planned = None if state.last_run_at else schedule.clocked_time
    elif state.last_run_at is not None:
        planned = _catch_up(schedule, state, next_run(schedule, state.last_run_at), now)
    elif _is_interval(schedule):
        planned = start if start else to_utc(state.anchor or now) + schedule.run_every
    else:
        planned = next_run(schedule, max(now, start - _TICK) if start else now)
    return _bounded(schedule, planned, start, state.expires)


def run_after(
    schedule: Any, slot: datetime, now: datetime, state: RunState, late: timedelta = timedelta(0)
) -> datetime | None:
    """The run that follows the run of ``slot`` sent at ``now``, ``late`` after it was due.

    Slots that passed meanwhile are skipped, except under MISSED_ALL, which sends
    each of them (up to its limit). An interval counts from when the run went out, so
    a late run never pulls the next one closer than the interval; a crontab or solar
    schedule keeps its times (the README's Time section).
    """
    if isinstance(schedule, clocked):
        return None
    now = to_utc(now)
    policy, _grace = _policy(schedule, state)
    if late > timedelta(0) and policy != MISSED_ALL and _is_interval(schedule):
        slot = slot + late
    planned = next_run(schedule, slot)
    if planned is not None and planned <= now:
        planned = (
            _catch_up(schedule, state, planned, now) if policy == MISSED_ALL else next_run(schedule, now)
        )
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


def jitter(task_pk: Any, slot: datetime, max_seconds: float | None) -> timedelta:
    """A delay in ``[0, max_seconds)`` that is the same for the same run identity.

    Spreads runs that share a slot (10,000 tasks at minute 0) without making any
    one of them move between beats or restarts.
    """
    if not max_seconds:
        return timedelta(0)
    digest = hashlib.sha256(f"{task_pk}@{slot.isoformat()}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return timedelta(seconds=fraction * max_seconds)


def upcoming_runs(schedule: Any, state: RunState, now: datetime, count: int) -> list[datetime]:
    """The next ``count`` runs, as beat would send them if nothing changed."""
    runs: list[datetime] = []
    planned = first_run(schedule, state, now)
    while planned is not None and len(runs) < count:
        runs.append(planned)
        planned = run_after(schedule, planned, max(planned, to_utc(now)), state)
    return runs
