"""Apply a schedules document: each task matched by name, each schedule found or created by value.

All of it runs in one transaction; each task in a savepoint of its own, so a task the
model refuses is reported (field and reason) and leaves nothing behind while the others
apply. Every write is a model ``save()``: the row is validated and the change counter
moves, so a running beat picks the changes up. A dry run does the same and rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ..models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
from ..models.dbtime import to_db
from ..models.querysets import NATURAL_KEYS, SCHEDULE_FIELDS, chunks
from .document import DATETIME_FIELDS, OPTION_FIELDS, STATE_FIELDS, task_entry

SCHEDULE_MODELS: dict[str, Any] = {
    "interval": IntervalSchedule,
    "crontab": CrontabSchedule,
    "solar": SolarSchedule,
    "clocked": ClockedSchedule,
}
KNOWN_FIELDS = ("name", "task", *SCHEDULE_FIELDS, *OPTION_FIELDS, *STATE_FIELDS)

ADDED, CHANGED, UNCHANGED, FAILED, DISABLED = "added", "changed", "unchanged", "failed", "disabled"


class TaskError(Exception):
    """One task of the file cannot be applied; ``errors`` holds (field, reason) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Outcome:
    """What importing did (or would do) to one task."""

    name: str
    status: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, old, new)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)
    pk: Any = None  # a task this import created


@dataclass
class Report:
    """Every task's outcome, in file order, then the tasks ``--prune`` disabled."""

    outcomes: list[Outcome]
    dry_run: bool

    def count(self, status: str) -> int:
        """How many tasks ended with ``status``."""
        return sum(1 for outcome in self.outcomes if outcome.status == status)


def apply_document(
    document: dict[str, Any], *, dry_run: bool = False, prune: bool = False, using: str = "default"
) -> Report:
    """Apply every task of ``document``; with ``prune``, disable the tasks it no longer has."""
    outcomes: list[Outcome] = []
    kept: set[Any] = set()
    names: set[str] = set()
    with transaction.atomic(using=using):
        for position, entry in enumerate(document["tasks"], start=1):
            outcomes.append(_apply_entry(position, entry, names, kept, using))
        if prune:
            outcomes.extend(_prune(kept, using))
        if dry_run:
            transaction.set_rollback(True, using=using)
    return Report(outcomes, dry_run)


def _apply_entry(position: int, entry: Any, names: set[str], kept: set[Any], using: str) -> Outcome:
    name = entry.get("name") if isinstance(entry, dict) else None
    label = (
        name
        if isinstance(name, str) and name
        else _("task %(position)s in the file") % {"position": position}
    )
    try:
        if isinstance(name, str) and name:
            existing = (
                PeriodicTask.objects.using(using).filter(name=name).values_list("pk", flat=True).first()
            )
            if existing is not None:
                kept.add(existing)
            if name in names:
                raise TaskError([("name", _("This name appears more than once in the file."))])
            names.add(name)
        with transaction.atomic(using=using):
            outcome = _apply_task(_checked(entry), using)
        if outcome.pk is not None:
            kept.add(outcome.pk)
        return outcome
    except TaskError as exc:
        return Outcome(label, FAILED, errors=exc.errors)
    except ValidationError as exc:
        return Outcome(label, FAILED, errors=_errors(exc))
    except DatabaseError as exc:
        return Outcome(label, FAILED, errors=[("", str(exc))])


def _checked(entry: Any) -> dict[str, Any]:
    """The entry's outline: an object, a name, known fields, exactly one schedule."""
    if not isinstance(entry, dict):
        raise TaskError([("", _('Each task must be an object such as {"name": ..., "task": ...}.'))])
    errors = []
    if not isinstance(entry.get("name"), str) or not entry["name"]:
        errors.append(("name", _("Give the task a name (text).")))
    for unknown in sorted(set(entry) - set(KNOWN_FIELDS)):
        errors.append(
            (unknown, _("Unknown field. A task takes: %(fields)s.") % {"fields": ", ".join(KNOWN_FIELDS)})
        )
    kinds = [kind for kind in SCHEDULE_FIELDS if kind in entry]
    if len(kinds) != 1:
        errors.append(
            (
                "schedule",
                _("Give exactly one schedule: interval, crontab, solar or clocked (found %(count)s).")
                % {"count": len(kinds)},
            )
        )
    for kind in kinds:
        errors.extend(_schedule_outline(kind, entry[kind]))
    for name in DATETIME_FIELDS & set(entry):
        try:
            entry = {**entry, name: _instant(entry[name], name)}
        except TaskError as exc:
            errors.extend(exc.errors)
    if errors:
        raise TaskError(errors)
    return entry


def _schedule_outline(kind: str, values: Any) -> list[tuple[str, str]]:
    if not isinstance(values, dict):
        return [(kind, _("A schedule must be an object of its values, such as %(example)s.") % {
            "example": '{"every": 10, "period": "seconds"}'})]  # fmt: skip
    fields = NATURAL_KEYS[kind]
    errors = [
        (f"{kind}.{unknown}", _("Unknown field. A %(kind)s schedule takes: %(fields)s.")
         % {"kind": kind, "fields": ", ".join(fields)})
        for unknown in sorted(set(values) - set(fields))
    ]  # fmt: skip
    if "clocked_time" in values:
        try:
            _instant(values["clocked_time"], "clocked.clocked_time")
        except TaskError as exc:
            errors.extend(exc.errors)
    return errors


def _instant(value: Any, name: str = "") -> Any:
    """An ISO 8601 datetime with its offset, as the database column takes it."""
    if value is None:
        return None
    try:
        parsed = (
            value
            if isinstance(value, datetime)
            else parse_datetime(value)
            if isinstance(value, str)
            else None
        )
    except ValueError:  # well formed, but no such date
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise TaskError(
            [(name, _("Enter an ISO 8601 datetime with its offset, such as 2030-01-01T09:00:00+00:00."))]
        )
    return to_db(parsed)


def _schedule_row(kind: str, values: dict[str, Any], using: str) -> Any:
    """The schedule row with these values: the first of equal rows, or a new one."""
    model = SCHEDULE_MODELS[kind]
    row = model()  # the defaults, e.g. a crontab's "*" and time zone
    errors: list[tuple[str, str]] = []
    for name, value in values.items():
        try:
            setattr(row, name, _instant(value, f"{kind}.{name}") if name == "clocked_time" else value)
        except (ValidationError, ValueError, TypeError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            errors.extend((f"{kind}.{name}", message) for message in messages)
    if not errors:
        try:
            row.validate_for_save()
        except ValidationError as exc:
            errors = [(f"{kind}.{name}", reason) for name, reason in _errors(exc)]
    if errors:
        raise TaskError(errors)
    try:
        return model.objects.using(using).get_by_natural_key(*(getattr(row, f) for f in NATURAL_KEYS[kind]))
    except model.DoesNotExist:
        row.save(using=using)
        return row


def _apply_task(entry: dict[str, Any], using: str) -> Outcome:
    name = entry["name"]
    with_state = any(state in entry for state in STATE_FIELDS)
    task = PeriodicTask.objects.using(using).select_related(*SCHEDULE_FIELDS).filter(name=name).first()
    if task is not None and task.defined_in_code:
        raise TaskError(
            [("name", _("This task is defined in code (the beat_schedule setting): change it there."))]
        )
    before = _flat(task_entry(task, with_state=with_state)) if task is not None else {}
    task = task or PeriodicTask(name=name)
    task.task = entry.get("task", "")
    kind = next(kind for kind in SCHEDULE_FIELDS if kind in entry)
    try:
        row, errors = _schedule_row(kind, entry[kind], using), []
    except TaskError as exc:  # go on, to report the task's own fields too
        row, errors = None, exc.errors
    for other in SCHEDULE_FIELDS:
        setattr(task, other, row if other == kind else None)
    for option in OPTION_FIELDS + (STATE_FIELDS if with_state else ()):
        value = entry[option] if option in entry else _default(option)
        setattr(task, option, value)
    try:
        task.validate_for_save()
    except ValidationError as exc:
        errors += _errors(exc, skip={"no_schedule"} if errors else set())
    if errors:
        raise TaskError(errors)
    after = _flat(task_entry(task, with_state=with_state))
    if after == before:
        return Outcome(name, UNCHANGED)
    task.save(using=using)
    if not before:
        return Outcome(name, ADDED, pk=task.pk)
    order = list(after) + [key for key in before if key not in after]
    changes = [(key, before.get(key), after.get(key)) for key in order if before.get(key) != after.get(key)]
    return Outcome(name, CHANGED, changes)


def _default(name: str) -> Any:
    model_field: Any = PeriodicTask._meta.get_field(name)
    return model_field.get_default()


def _flat(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with the schedule's values as ``kind.field`` keys, for a diff by field."""
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if key in SCHEDULE_FIELDS:
            flat.update({f"{key}.{name}": item for name, item in value.items()})
        else:
            flat[key] = value
    return flat


def _prune(kept: set[Any], using: str) -> list[Outcome]:
    """Disable the enabled tasks the file does not have (never those defined in code)."""
    outcomes = []
    enabled = PeriodicTask.objects.using(using).filter(enabled=True, defined_in_code=False)
    stale = [pk for pk in enabled.values_list("pk", flat=True) if pk not in kept]
    tasks = [
        task for pks in chunks(stale) for task in enabled.filter(pk__in=pks).select_related(*SCHEDULE_FIELDS)
    ]
    for task in sorted(tasks, key=lambda task: task.name):
        try:
            with transaction.atomic(using=using):
                task.enabled = False
                task.save(using=using)
        except (ValidationError, DatabaseError) as exc:
            errors = _errors(exc) if isinstance(exc, ValidationError) else [("", str(exc))]
            outcomes.append(Outcome(task.name, FAILED, errors=errors))
        else:
            outcomes.append(Outcome(task.name, DISABLED, [("enabled", True, False)]))
    return outcomes


def _errors(exc: ValidationError, skip: set[str] | None = None) -> list[tuple[str, str]]:
    """(field, reason) pairs, leaving out the errors whose code is in ``skip``."""
    if not hasattr(exc, "error_dict"):
        return [("", message) for message in exc.messages]
    return [
        ("" if name == "__all__" else name, message)
        for name, errors in exc.error_dict.items()
        for error in errors
        if error.code not in (skip or set())
        for message in error.messages
    ]
