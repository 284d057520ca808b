"""One task of a schedules document, checked before any query: its outline and its values.

Errors are (field, reason) pairs, the field named as in the file (``crontab.minute``),
so a report can say which line of which task to fix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ..models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
from ..models.dbtime import to_db
from ..models.querysets import NATURAL_KEYS, SCHEDULE_FIELDS
from .document import DATETIME_FIELDS, OPTION_FIELDS, STATE_FIELDS

SCHEDULE_MODELS: dict[str, Any] = {
    "interval": IntervalSchedule,
    "crontab": CrontabSchedule,
    "solar": SolarSchedule,
    "clocked": ClockedSchedule,
}
KNOWN_FIELDS = ("name", "task", *SCHEDULE_FIELDS, *OPTION_FIELDS, *STATE_FIELDS)

Errors = list[tuple[str, str]]


class TaskError(Exception):
    """One task of the file cannot be applied; ``errors`` holds (field, reason) pairs."""

    def __init__(self, errors: Errors):
        super().__init__(errors)
        self.errors = errors


def checked(entry: Any) -> dict[str, Any]:
    """The entry with its datetimes read, once its outline is right: an object, a name,
    known fields, exactly one schedule given as an object of known fields."""
    if not isinstance(entry, dict):
        raise TaskError([("", _('Each task must be an object such as {"name": ..., "task": ...}.'))])
    errors: Errors = []
    if not isinstance(entry.get("name"), str) or not entry["name"]:
        errors.append(("name", _("Give the task a name (text).")))
    known = ", ".join(KNOWN_FIELDS)
    for unknown in sorted(set(entry) - set(KNOWN_FIELDS)):
        errors.append((unknown, _("Unknown field. A task takes: %(fields)s.") % {"fields": known}))
    kinds = [kind for kind in SCHEDULE_FIELDS if kind in entry]
    if len(kinds) != 1:
        message = _("Give exactly one schedule: interval, crontab, solar or clocked (found %(count)s).")
        errors.append(("schedule", message % {"count": len(kinds)}))
    for kind in kinds:
        errors.extend(_schedule_outline(kind, entry[kind]))
    values = dict(entry)
    for name in DATETIME_FIELDS & set(entry):
        try:
            values[name] = instant(entry[name], name)
        except TaskError as exc:
            errors.extend(exc.errors)
    if errors:
        raise TaskError(errors)
    return values


def _schedule_outline(kind: str, values: Any) -> Errors:
    if not isinstance(values, dict):
        example = '{"every": 10, "period": "seconds"}'
        return [
            (
                kind,
                _("A schedule must be an object of its values, such as %(example)s.") % {"example": example},
            )
        ]
    fields = NATURAL_KEYS[kind]
    message = _("Unknown field. A %(kind)s schedule takes: %(fields)s.")
    return [
        (f"{kind}.{unknown}", message % {"kind": kind, "fields": ", ".join(fields)})
        for unknown in sorted(set(values) - set(fields))
    ]


def instant(value: Any, name: str) -> Any:
    """An ISO 8601 datetime with its offset (or a YAML timestamp), as the column takes it."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:  # well formed, but no such date
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        message = _("Enter an ISO 8601 datetime with its offset, such as 2030-01-01T09:00:00+00:00.")
        raise TaskError([(name, message)])
    return to_db(parsed)


def schedule_instance(kind: str, values: dict[str, Any]) -> Any:
    """An unsaved schedule row with these values, validated as ``save()`` would."""
    row = SCHEDULE_MODELS[kind]()  # the defaults, e.g. a crontab's "*" and time zone
    errors: Errors = []
    for name, value in values.items():
        try:
            setattr(row, name, instant(value, f"{kind}.{name}") if name == "clocked_time" else value)
        except TaskError as exc:
            errors.extend(exc.errors)
        except (ValidationError, ValueError, TypeError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            errors.extend((f"{kind}.{name}", message) for message in messages)
    if not errors:
        try:
            row.validate_for_save()
        except ValidationError as exc:
            errors = [(f"{kind}.{name}", reason) for name, reason in field_errors(exc)]
    if errors:
        raise TaskError(errors)
    return row


def fill(task: PeriodicTask, entry: dict[str, Any], with_state: bool) -> None:
    """Set the task's fields from the entry; a field the entry leaves out takes its default."""
    task.task = entry.get("task", "")
    for option in OPTION_FIELDS + (STATE_FIELDS if with_state else ()):
        model_field: Any = PeriodicTask._meta.get_field(option)
        setattr(task, option, entry[option] if option in entry else model_field.get_default())


def field_errors(exc: ValidationError, skip: frozenset[str] = frozenset()) -> Errors:
    """(field, reason) pairs of a ValidationError, leaving out the errors whose code is in ``skip``."""
    if not hasattr(exc, "error_dict"):
        return [("", message) for message in exc.messages]
    return [
        ("" if name == "__all__" else name, message)
        for name, errors in exc.error_dict.items()
        for error in errors
        if error.code not in skip
        for message in error.messages
    ]
