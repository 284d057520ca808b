"""Apply a schedules document: each task matched by name, each schedule found or created by value.

All of it runs in one transaction. A task the model refuses is reported (field and
reason) and leaves nothing behind, since its writes run in a savepoint of their own,
while the others apply. Every write is a model ``save()``: the row is validated and the
change counter moves, so a running beat picks the changes up. A task that would not
change is not written at all. A dry run does the same and rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, transaction
from django.utils.translation import gettext as _

from ..models import PeriodicTask
from ..models.querysets import NATURAL_KEYS, SCHEDULE_FIELDS, chunks
from .document import STATE_FIELDS, task_entry
from .entries import SCHEDULE_MODELS, TaskError, checked, field_errors, fill, schedule_instance

ADDED, CHANGED, UNCHANGED, FAILED, DISABLED = "added", "changed", "unchanged", "failed", "disabled"
#: A task whose new schedule row is not saved yet has no schedule id to check.
_UNSAVED_SCHEDULE = frozenset({"no_schedule"})


@dataclass
class Outcome:
    """What importing did (or would do) to one task."""

    name: str
    status: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, old, new)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)


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
    importer = Importer(using)
    with transaction.atomic(using=using):
        importer.preload(document["tasks"])
        outcomes = [importer.entry(position, entry) for position, entry in enumerate(document["tasks"], 1)]
        if prune:
            outcomes.extend(importer.prune())
        if dry_run:
            transaction.set_rollback(True, using=using)
    return Report(outcomes, dry_run)


class Importer:
    """Applies entries one by one, remembering the tasks and schedule rows it has seen."""

    def __init__(self, using: str = "default"):
        self.using = using
        self.tasks: dict[str, PeriodicTask] = {}
        self.rows: dict[tuple[str, tuple[Any, ...]], Any] = {}  # (kind, values) -> saved row
        self.names: set[str] = set()
        self.kept: set[Any] = set()  # ids of the tasks the file has

    def preload(self, entries: Iterable[Any]) -> None:
        """Read the file's existing tasks with their schedules, a thousand names a query."""
        names = [e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)]
        tasks = PeriodicTask.objects.using(self.using).select_related(*SCHEDULE_FIELDS)
        for batch in chunks(names):
            self.tasks.update((task.name, task) for task in tasks.filter(name__in=batch))

    def existing(self, name: str) -> PeriodicTask | None:
        """The task of this name. On MySQL, whose collations ignore case, a name the
        preloaded tasks lack may still match a row: ask the database."""
        task = self.tasks.get(name)
        if task is None and connections[self.using].vendor == "mysql":
            task = (
                PeriodicTask.objects.using(self.using)
                .select_related(*SCHEDULE_FIELDS)
                .filter(name=name)
                .first()
            )
        if task is not None:
            self.kept.add(task.pk)
        return task

    def entry(self, position: int, entry: Any) -> Outcome:
        """Apply one entry of the file; a refused one gives its errors and writes nothing."""
        name = entry.get("name") if isinstance(entry, dict) else None
        label = name if isinstance(name, str) and name else ""
        try:
            task = self.existing(label) if label else None
            if label in self.names:
                raise TaskError([("name", _("This name appears more than once in the file."))])
            if label:
                self.names.add(label)
            return self.apply(checked(entry), task)
        except TaskError as exc:
            errors = exc.errors
        except ValidationError as exc:
            errors = field_errors(exc)
        except DatabaseError as exc:
            errors = [("", str(exc))]
        return Outcome(
            label or _("task %(position)s in the file") % {"position": position}, FAILED, errors=errors
        )

    def schedule(self, kind: str, values: dict[str, Any]) -> Any:
        """The saved row with these values (the first of equal rows), or a new unsaved one."""
        row = schedule_instance(kind, values)
        key = (kind, row.natural_key())
        if key not in self.rows:
            model = SCHEDULE_MODELS[kind]
            try:
                lookup = (getattr(row, name) for name in NATURAL_KEYS[kind])
                self.rows[key] = model.objects.using(self.using).get_by_natural_key(*lookup)
            except model.DoesNotExist:
                return row
        return self.rows[key]

    def apply(self, entry: dict[str, Any], task: PeriodicTask | None) -> Outcome:
        """Write the task if it differs from the entry; the changes by field."""
        name = entry["name"]
        if task is not None and task.defined_in_code:
            raise TaskError(
                [("name", _("This task is defined in code (the beat_schedule setting): change it there."))]
            )
        with_state = any(state in entry for state in STATE_FIELDS)
        before = _flat(task_entry(task, with_state=with_state)) if task is not None else {}
        task = task or PeriodicTask(name=name)
        kind = next(kind for kind in SCHEDULE_FIELDS if kind in entry)
        try:
            row, errors = self.schedule(kind, entry[kind]), []
        except TaskError as exc:  # go on, to report the task's own fields too
            row, errors = None, exc.errors
        for other in SCHEDULE_FIELDS:
            setattr(task, other, row if other == kind else None)
        fill(task, entry, with_state)
        new_row = row is not None and row.pk is None
        try:
            task.validate_for_save()
        except ValidationError as exc:
            errors += field_errors(exc, _UNSAVED_SCHEDULE if errors or new_row else frozenset())
        if errors:
            raise TaskError(errors)
        after = _flat(task_entry(task, with_state=with_state, row=row))
        if after == before:
            return Outcome(name, UNCHANGED)
        # save() is atomic: a savepoint of our own only when a new schedule row comes too
        with transaction.atomic(using=self.using) if new_row else nullcontext():
            if new_row:
                row.save(using=self.using)
                setattr(task, kind, row)  # now with its id: save() checks the whole task
            task.save(using=self.using)
        if new_row:
            self.rows[(kind, row.natural_key())] = row
        self.kept.add(task.pk)
        if not before:
            return Outcome(name, ADDED)
        order = list(after) + [key for key in before if key not in after]
        return Outcome(
            name, CHANGED, [(k, before.get(k), after.get(k)) for k in order if before.get(k) != after.get(k)]
        )

    def prune(self) -> list[Outcome]:
        """Disable the enabled tasks the file does not have (never those defined in code)."""
        enabled = PeriodicTask.objects.using(self.using).filter(enabled=True, defined_in_code=False)
        stale = [pk for pk in enabled.values_list("pk", flat=True) if pk not in self.kept]
        tasks = [
            task
            for pks in chunks(stale)
            for task in enabled.filter(pk__in=pks).select_related(*SCHEDULE_FIELDS)
        ]
        outcomes = []
        for task in sorted(tasks, key=lambda task: task.name):
            try:
                with transaction.atomic(using=self.using):
                    task.enabled = False
                    task.save(using=self.using)
            except ValidationError as exc:
                outcomes.append(Outcome(task.name, FAILED, errors=field_errors(exc)))
            except DatabaseError as exc:
                outcomes.append(Outcome(task.name, FAILED, errors=[("", str(exc))]))
            else:
                outcomes.append(Outcome(task.name, DISABLED, [("enabled", True, False)]))
        return outcomes


def _flat(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with the schedule's values as ``kind.field`` keys, for a diff by field."""
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if key in SCHEDULE_FIELDS:
            flat.update({f"{key}.{name}": item for name, item in value.items()})
        else:
            flat[key] = value
    return flat
