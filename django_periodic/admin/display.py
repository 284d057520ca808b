"""What the admin shows of a task's schedule: words, time zone and the next runs.

No scheduling rules live here: the runs come from :mod:`django_periodic.timing.plans`,
the same functions beat plans with, fed the run state beat would read from the row.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from celery import current_app
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext

from .. import conf
from ..models.dbtime import from_db
from ..timing.plans import RunState, first_run, upcoming_runs

#: How many runs the change form previews.
PREVIEW_RUNS = 5

#: How a run time is written: weekday, date, time and the zone's abbreviation.
WHEN_FORMAT = "D Y-m-d H:i:s T"


def current_time() -> datetime:
    """Now, by the clock beat reads (``DJANGO_PERIODIC["CLOCK"]``), so previews match beat."""
    return conf.current_time()


def run_state(task: Any, now: datetime) -> RunState:
    """The run state beat builds from a task row at ``now``, with the Celery app's starting deadline."""
    state: RunState = task.run_state(current_app.conf.beat_cron_starting_deadline, now)
    return state


def next_run(task: Any, now: datetime) -> datetime | None:
    """The next run of an enabled task, or None (disabled, finished or unreadable)."""
    if not task.enabled:
        return None
    try:
        return first_run(task.schedule, run_state(task, now), now)
    except Exception:  # a bad row: the change form says why; the list stays readable
        return None


def upcoming(task: Any, now: datetime, count: int = PREVIEW_RUNS) -> list[datetime]:
    """The next ``count`` runs of a task, as beat would send them if nothing changed.

    A one-off task runs once. Raises what the schedule raises when the row cannot
    be read (the caller shows the reason).
    """
    return upcoming_runs(task.schedule, run_state(task, now), now, 1 if task.one_off else count)


def schedule_words(task: Any) -> str:
    """The schedule of a task in words, in the active language."""
    kind = task.schedule_kind
    if kind == "crontab":
        return str(task.crontab.human_readable)
    if kind == "interval":
        return capfirst(str(task.interval))
    if kind == "solar":
        return str(task.solar)
    if kind == "clocked":
        return gettext("Once, at %(time)s") % {"time": when(task.clocked.clocked_time)}
    return gettext("No schedule")


def schedule_zone(task: Any) -> tzinfo:
    """The zone a task's schedule is read in: a crontab's own zone; UTC for the others."""
    if task.schedule_kind == "crontab":
        return ZoneInfo(str(task.crontab.timezone))
    return UTC


def zone_name(zone: tzinfo) -> str:
    """``America/New_York``, ``UTC``."""
    return str(getattr(zone, "key", None) or zone.tzname(None) or zone)


def when(value: datetime, zone: tzinfo | None = None) -> str:
    """A run time in ``zone`` (default: the active time zone), with weekday and zone."""
    aware = from_db(value)  # naive values (USE_TZ = False) are in TIME_ZONE
    assert aware is not None
    local = aware.astimezone(zone) if zone is not None else timezone.localtime(aware)
    return formats.date_format(local, WHEN_FORMAT)
