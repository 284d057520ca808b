"""Periodic tasks as a document: what ``periodic_tasks export`` writes and ``import`` reads.

A document is ``{"format": 1, "tasks": [...]}``; each task names its schedule by value
(``"crontab": {"minute": "0", ..., "timezone": "Europe/Berlin"}``), never by a row's
primary key, so it means the same in every database. Tasks come sorted by name and
keys in one fixed order, so two exports of the same schedules are the same bytes and a
change shows as a small diff in version control.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from ..models import PeriodicTask
from ..models.dbtime import from_db
from ..models.querysets import NATURAL_KEYS, SCHEDULE_FIELDS

FORMAT = 1

#: The fields a user edits, in the order a task lists them (after name, task and schedule).
OPTION_FIELDS = (
    "args",
    "kwargs",
    "queue",
    "exchange",
    "routing_key",
    "headers",
    "options",
    "priority",
    "expires",
    "expire_seconds",
    "one_off",
    "start_time",
    "enabled",
    "description",
    "missed_runs",
    "missed_runs_limit",
    "grace_seconds",
    "jitter_seconds",
    "overlap",
    "overlap_timeout",
)
#: The run state beat owns: exported and imported only when asked for (``--with-state``).
STATE_FIELDS = ("last_run_at", "total_run_count")
DATETIME_FIELDS = frozenset({"expires", "start_time", "last_run_at", "clocked_time"})
FORMATS = ("json", "yaml")


class DocumentError(ValueError):
    """A file that is not a schedules document at all (as opposed to one bad task)."""


def plain(value: Any) -> Any:
    """A field's value as JSON holds it: datetimes in ISO 8601 UTC, decimals as numbers,
    objects (kwargs, headers, options) with their keys sorted, as PostgreSQL and MySQL
    store them in an order of their own and a file must not depend on the database."""
    if isinstance(value, dict):
        return {key: plain(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return from_db(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, Decimal):
        return float(value)
    if value is not None and not isinstance(value, str | int | float | bool | list | dict):
        return str(value)  # a time zone
    return value


def schedule_values(task: PeriodicTask, row: Any = None) -> tuple[str, dict[str, Any]] | None:
    """The kind and values of the task's schedule (or of ``row``, perhaps not saved yet)."""
    kind = task.schedule_kind if row is None else row.task_field
    if kind is None:
        return None
    row = row if row is not None else getattr(task, kind)
    return kind, {name: plain(getattr(row, name)) for name in NATURAL_KEYS[kind]}


def task_entry(task: PeriodicTask, *, with_state: bool = False, row: Any = None) -> dict[str, Any]:
    """One task as a document entry, keys in the fixed order (``row``: its schedule row)."""
    entry: dict[str, Any] = {"name": task.name, "task": task.task}
    schedule = schedule_values(task, row)
    if schedule is not None:
        entry[schedule[0]] = schedule[1]
    for name in OPTION_FIELDS + (STATE_FIELDS if with_state else ()):
        entry[name] = plain(getattr(task, name))
    return entry


def export_tasks(tasks: Iterable[PeriodicTask], *, with_state: bool = False) -> dict[str, Any]:
    """The document for ``tasks``, sorted by name."""
    entries = [task_entry(task, with_state=with_state) for task in tasks]
    return {"format": FORMAT, "tasks": sorted(entries, key=lambda entry: entry["name"])}


def exportable_tasks(using: str = "default") -> Any:
    """Every task a file may carry: all but those defined in code (``beat_schedule``)."""
    return (
        PeriodicTask.objects.using(using)
        .filter(defined_in_code=False)
        .select_related(*SCHEDULE_FIELDS)
        .order_by("name")
    )


def _yaml() -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise DocumentError(
            _("YAML needs PyYAML, the 'yaml' extra: pip install 'django-periodic[yaml]'.")
        ) from exc
    return yaml


def dumps(document: dict[str, Any], fmt: str = "json") -> str:
    """The document as text: JSON indented by two, or YAML in block style."""
    if fmt == "yaml":
        return str(_yaml().safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False))
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def format_of(path: str) -> str:
    """The format a file's name suggests: YAML for .yaml / .yml, JSON otherwise."""
    return "yaml" if path.lower().endswith((".yaml", ".yml")) else "json"


def loads(text: str, fmt: str = "json") -> dict[str, Any]:
    """Read a document and check its outline (the tasks themselves are checked one by one)."""
    if fmt == "yaml":
        yaml = _yaml()
        try:
            document = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError) as exc:
            raise DocumentError(_("The file is not valid YAML: %(error)s") % {"error": exc}) from exc
    else:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise DocumentError(_("The file is not valid JSON: %(error)s") % {"error": exc}) from exc
    if not isinstance(document, dict) or not isinstance(document.get("tasks"), list):
        raise DocumentError(
            _('The file must hold an object with a list of tasks: {"format": 1, "tasks": [...]}.')
        )
    if document.get("format", FORMAT) != FORMAT:
        raise DocumentError(
            _("The file is in format %(found)s; this version reads format %(known)s.")
            % {"found": document.get("format"), "known": FORMAT}
        )
    return document
