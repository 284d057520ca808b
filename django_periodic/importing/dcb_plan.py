"""The plan of an import from django-celery-beat: what to create, update, leave or refuse.

The plan reads every row, validates it as ``save()`` would, and decides for each task:
create it, update the task of the same name, leave it, or report why it cannot come.
Equal schedules are shared (ours already stored, or one new row for all the equal rows
of the source). For a task of the same name, run state only ever moves forward, so
nothing that either beat sent is sent again; ``enabled`` is left as it is here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    ScheduleModel,
    SolarSchedule,
)
from ..models.dbtime import from_db, to_db
from ..models.querysets import SCHEDULE_FIELDS, chunks
from .dcb_source import TABLES, Source

SCHEDULE_MODELS: dict[str, type[ScheduleModel]] = {
    "interval": IntervalSchedule,
    "crontab": CrontabSchedule,
    "solar": SolarSchedule,
    "clocked": ClockedSchedule,
}
#: What an update of a task of the same name may change (never ``enabled``: see the guide).
TASK_FIELDS = (
    "task",
    *(f"{kind}_id" for kind in SCHEDULE_FIELDS),
    "args",
    "kwargs",
    "queue",
    "exchange",
    "routing_key",
    "headers",
    "priority",
    "expires",
    "expire_seconds",
    "one_off",
    "start_time",
    "description",
    "last_run_at",
    "total_run_count",
)
JSON_DEFAULTS: dict[str, Callable[[], Any]] = {"args": list, "kwargs": dict, "headers": dict}
_MICRO = Decimal("0.000001")

Advance = Callable[[int], None]


@dataclass
class Problem:
    """A source row that is not imported, and why."""

    source_id: int
    name: str
    reason: str


@dataclass
class Plan:
    """What the import does: tasks to create, update or leave, rows it cannot take."""

    read: int = 0
    created: list[PeriodicTask] = field(default_factory=list)
    updated: list[tuple[PeriodicTask, list[str]]] = field(default_factory=list)
    unchanged: list[PeriodicTask] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    new_schedules: dict[str, list[ScheduleModel]] = field(default_factory=dict)
    reused_schedules: int = 0
    #: django-celery-beat's ids of the tasks that are ours now (what --disable-source disables)
    source_ids: list[int] = field(default_factory=list)
    #: a new schedule's stand-in id (negative) on the planned tasks, until it is written
    placeholders: dict[int, ScheduleModel] = field(default_factory=dict)
    disabled_in_source: int = 0


def describe(exc: ValidationError) -> str:
    """A validation error in one line: ``field: message; field: message``."""
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(str(m) for m in ValidationError(errors).messages)}"
            if name != "__all__"
            else " ".join(str(m) for m in ValidationError(errors).messages)
            for name, errors in exc.error_dict.items()
        )
    return " ".join(str(m) for m in exc.messages)


def schedule_key(kind: str, row: ScheduleModel) -> tuple[Any, ...]:
    """What makes two schedule rows equal (cron fields as normalised by ``clean_fields``)."""
    if isinstance(row, IntervalSchedule):
        return (row.every, row.period)
    if isinstance(row, CrontabSchedule):
        fields = (row.minute, row.hour, row.day_of_month, row.month_of_year, row.day_of_week)
        return (*fields, str(row.timezone))
    if isinstance(row, SolarSchedule):
        return (row.event, Decimal(row.latitude).quantize(_MICRO), Decimal(row.longitude).quantize(_MICRO))
    assert isinstance(row, ClockedSchedule)
    return (from_db(row.clocked_time),)


class ScheduleMap:
    """One kind of schedule: django-celery-beat's ids mapped to our rows, new or reused."""

    def __init__(self, kind: str, plan: Plan, using: str) -> None:
        self.kind, self.plan = kind, plan
        self.model = SCHEDULE_MODELS[kind]
        self.ours: dict[tuple[Any, ...], int] = {}
        for row in self.model._base_manager.using(using).order_by("-pk"):
            self.ours[schedule_key(kind, row)] = row.pk  # the lowest pk wins among equals
        self.new: dict[tuple[Any, ...], int] = {}
        self.refs: dict[int, int] = {}  # source id -> our pk, or a negative stand-in
        self.reasons: dict[int, str] = {}

    def add(self, source_row: dict[str, Any]) -> None:
        values = {name: value for name, value in source_row.items() if name != "id"}
        if self.kind == "crontab" and not values.get("timezone"):
            values.pop("timezone", None)  # our default: Celery's time zone
        row = self.model(**values)
        try:
            row.validate_for_save()
        except ValidationError as exc:
            self.reasons[source_row["id"]] = describe(exc)
            return
        key = schedule_key(self.kind, row)
        if key in self.ours:
            self.refs[source_row["id"]] = self.ours[key]
            self.plan.reused_schedules += 1
        elif key in self.new:
            self.refs[source_row["id"]] = self.new[key]
        else:
            stand_in = -(len(self.plan.placeholders) + 1)
            self.plan.placeholders[stand_in] = row
            self.plan.new_schedules.setdefault(self.kind, []).append(row)
            self.new[key] = self.refs[source_row["id"]] = stand_in

    def resolve(self, source_id: int) -> int:
        """Our id for a source schedule id; ValueError says why there is none."""
        if source_id in self.refs:
            return self.refs[source_id]
        if source_id in self.reasons:
            raise ValueError(
                _("its %(kind)s schedule (id %(id)s) cannot be imported: %(reason)s")
                % {"kind": self.kind, "id": source_id, "reason": self.reasons[source_id]}
            )
        raise ValueError(
            _("its %(kind)s schedule (id %(id)s) is not in %(table)s")
            % {"kind": self.kind, "id": source_id, "table": TABLES[self.kind]}
        )


def _json(name: str, text: Any) -> Any:
    if text is None or (isinstance(text, str) and not text.strip()):
        return JSON_DEFAULTS[name]()
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ValueError(
            _("%(field)s is not valid JSON (%(error)s): %(value)s")
            % {"field": name, "error": exc.msg, "value": repr(shown)}
        ) from exc


def task_from_row(row: dict[str, Any], schedules: dict[str, ScheduleMap]) -> PeriodicTask:
    """Our task for one source row, validated; ValueError says why it cannot be."""
    values: dict[str, Any] = {
        "name": row["name"],
        "task": row["task"] or "",
        "enabled": bool(row["enabled"]),
        "one_off": bool(row.get("one_off")),
        "total_run_count": row.get("total_run_count") or 0,
        "description": row.get("description") or "",
    }
    for name in ("queue", "exchange", "routing_key", "priority", "expires", "expire_seconds"):
        values[name] = row.get(name)
    for name in ("start_time", "last_run_at"):
        values[name] = row.get(name)
    for name in JSON_DEFAULTS:
        values[name] = _json(name, row.get(name))
    for kind, mapping in schedules.items():
        source_id = row.get(f"{kind}_id")
        if source_id is not None:
            values[f"{kind}_id"] = mapping.resolve(source_id)
    task = PeriodicTask(**values)
    try:
        task.validate_for_save()
    except ValidationError as exc:
        raise ValueError(describe(exc)) from exc
    return task


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def _merge(existing: PeriodicTask, wanted: PeriodicTask) -> list[str]:
    """Bring ``existing`` to ``wanted`` (run state only forward); the fields that changed."""
    latest = _later(from_db(existing.last_run_at), from_db(wanted.last_run_at))
    wanted.last_run_at = to_db(latest) if latest is not None else None
    wanted.total_run_count = max(existing.total_run_count, wanted.total_run_count)
    wanted.enabled = existing.enabled
    wanted._normalise()
    changed = []
    for name in TASK_FIELDS:
        value = getattr(wanted, name)
        current = getattr(existing, name)
        if isinstance(value, datetime) and isinstance(current, datetime):
            same = from_db(value) == from_db(current)
        else:
            same = value == current
        if not same:
            setattr(existing, name, value)
            changed.append(name)
    return changed


def _existing(names: list[str], using: str) -> dict[str, PeriodicTask]:
    found: dict[str, PeriodicTask] = {}
    for chunk in chunks(names):
        found.update((t.name, t) for t in PeriodicTask.objects.using(using).filter(name__in=chunk))
    return found


def make_plan(source: Source, using: str, advance: Advance) -> Plan:
    """Read the source and decide, row by row; writes nothing."""
    plan = Plan()
    schedules = {kind: ScheduleMap(kind, plan, using) for kind in SCHEDULE_MODELS}
    for kind, mapping in schedules.items():
        for row in source.rows(kind):
            mapping.add(row)
    rows = list(source.rows("task"))
    plan.read = len(rows)
    existing = _existing([row["name"] for row in rows], using)
    for row in rows:
        try:
            task = task_from_row(row, schedules)
        except ValueError as exc:
            plan.problems.append(Problem(row["id"], row["name"], str(exc)))
        else:
            _place(plan, task, existing.get(task.name))
            plan.source_ids.append(row["id"])
        advance(1)
    return plan


def _place(plan: Plan, task: PeriodicTask, current: PeriodicTask | None) -> None:
    if current is None:
        plan.created.append(task)
    elif current.defined_in_code:  # beat_schedule owns it: the settings win
        plan.unchanged.append(current)
    else:
        changed = _merge(current, task)
        if changed:
            plan.updated.append((current, changed))
        else:
            plan.unchanged.append(current)
