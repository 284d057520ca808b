"""Schedules defined in code (Celery's ``beat_schedule``), kept in the database.

The rule: at every beat start, each entry of ``beat_schedule`` is written to the
task row of the same name (created if missing) and the row is marked
``defined_in_code``; the settings win over admin edits of the fields the entry
sets. Rows marked ``defined_in_code`` whose name left the settings are disabled,
not deleted, so their history stays. Rows are only written when they differ.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from celery import schedules as celery_schedules
from celery.beat import maybe_schedule
from django.db import transaction

from ..models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    ScheduleModel,
    SolarSchedule,
)
from ..timing.schedules import clocked

logger = logging.getLogger("django_periodic.beat")

#: Options stored in their own columns; the rest go to ``PeriodicTask.options``.
_COLUMN_OPTIONS = ("queue", "exchange", "routing_key", "priority", "headers")


def schedule_row(schedule: Any, app: Any) -> Any:
    """Find or create the schedule row for a Celery schedule object."""
    schedule = maybe_schedule(schedule, app=app)
    row: ScheduleModel
    if isinstance(schedule, clocked):
        row = ClockedSchedule.from_schedule(schedule)
    elif isinstance(schedule, celery_schedules.crontab):
        if not hasattr(schedule, "tz"):
            schedule.tz = str(app.timezone)
        row = CrontabSchedule.from_schedule(schedule)
    elif isinstance(schedule, celery_schedules.solar):
        row = SolarSchedule.from_schedule(schedule)
    elif isinstance(schedule, celery_schedules.schedule):
        every = schedule.run_every
        period = (
            IntervalSchedule.SECONDS
            if every % timedelta(seconds=1) == timedelta(0)
            else IntervalSchedule.MICROSECONDS
        )
        row = IntervalSchedule.from_schedule(schedule, period=period)
    else:
        raise ValueError(f"unsupported schedule {schedule!r}")
    if row.pk is None:
        row.save()
    return row


def task_fields(entry: dict[str, Any], app: Any) -> dict[str, Any]:
    """The PeriodicTask columns for one ``beat_schedule`` entry."""
    options = dict(entry.get("options") or {})
    row = schedule_row(entry["schedule"], app)
    fields: dict[str, Any] = {
        "task": entry["task"],
        "args": list(entry.get("args") or ()),
        "kwargs": dict(entry.get("kwargs") or {}),
        "interval": None,
        "crontab": None,
        "solar": None,
        "clocked": None,
        row.task_field: row,
        "queue": None,
        "exchange": None,
        "routing_key": None,
        "priority": None,
        "headers": {},
        "expires": None,
        "expire_seconds": None,
        "one_off": isinstance(row, ClockedSchedule) or bool(entry.get("one_off", False)),
        "start_time": entry.get("start_time"),
        "enabled": entry.get("enabled", True),
        "description": entry.get("description", ""),
        "defined_in_code": True,
    }
    for name in _COLUMN_OPTIONS:
        if name in options:
            fields[name] = options.pop(name)
    expires = options.pop("expires", None)
    if isinstance(expires, datetime):
        fields["expires"] = expires
    elif expires is not None:
        fields["expire_seconds"] = int(expires)
    fields["options"] = options
    return fields


def _differs(task: PeriodicTask, fields: dict[str, Any]) -> bool:
    for name, value in fields.items():
        current = getattr(task, name)
        if hasattr(value, "pk") or name in ("interval", "crontab", "solar", "clocked"):
            current, value = getattr(task, f"{name}_id"), getattr(value, "pk", None)
        if current != value:
            return True
    return False


def sync_code_schedule(
    mapping: dict[str, dict[str, Any]], app: Any, keep: Collection[str] = frozenset()
) -> dict[str, int]:
    """Write ``beat_schedule`` into the database; returns counts by outcome.

    ``keep`` names code-defined rows to leave enabled even though they are not
    in ``mapping`` (Celery's default entries).
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0, "disabled": 0, "failed": 0}
    existing = {t.name: t for t in PeriodicTask.objects.filter(name__in=list(mapping))}
    for name, entry in mapping.items():
        try:
            with transaction.atomic():
                fields = task_fields(entry, app)
                task = existing.get(name)
                if task is None:
                    PeriodicTask(name=name, **fields).save()
                    counts["created"] += 1
                elif _differs(task, fields):
                    for key, value in fields.items():
                        setattr(task, key, value)
                    task.save()
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
        except Exception as exc:
            counts["failed"] += 1
            logger.error("beat_schedule entry %r cannot be stored, skipped: %s", name, exc)
    orphans = PeriodicTask.objects.filter(defined_in_code=True, enabled=True).exclude(
        name__in=[*mapping, *keep]
    )
    for name in orphans.values_list("name", flat=True):
        logger.warning("Task %r is no longer in beat_schedule: disabled it.", name)
    counts["disabled"] = orphans.update(enabled=False)
    return counts


def default_entries(app: Any) -> dict[str, Any]:
    """Celery's own periodic tasks beat adds: ``celery.backend_cleanup`` (daily 04:00) when
    results expire and the result backend does not expire them itself."""
    if not app.conf.result_expires or app.backend.supports_autoexpire:
        return {}
    return {
        "celery.backend_cleanup": {
            "task": "celery.backend_cleanup",
            "schedule": celery_schedules.crontab("0", "4", "*"),
            "options": {"expires": 12 * 3600},
        },
    }
