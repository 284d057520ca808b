"""Beat's in-memory view of periodic task rows.

Beat holds, per enabled task, only what decides *when* it runs: a :class:`TaskPlan`
(a few slots pointing at a shared schedule object and a shared, interned
:class:`~django_periodic.planning.RunState`). *What* to send (task name, args,
kwargs, options) is read from the row when a run falls due, one query per 1,000
runs, and becomes a :class:`Run`. So memory does not grow with the size of the
arguments, and a run always carries the row's current arguments.

:class:`ModelEntry` is Celery's ``ScheduleEntry`` for one row, with everything
in it; ``DatabaseScheduler.schedule`` builds them on demand, for code written
against Celery's or django-celery-beat's API.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from celery.beat import ScheduleEntry
from django.db.models import TextField
from django.db.models.functions import Cast

from .dispatch import message_options, task_options
from .planning import RunState, is_missed, jitter, run_after


class EntryError(ValueError):
    """A row that cannot be scheduled or sent; the message says why, for the log and the admin."""


class TaskPlan:
    """When one task runs next: its schedule, its run state and its next slot."""

    __slots__ = ("jitter_seconds", "model_id", "next_run_at", "one_off", "schedule", "state")

    def __init__(
        self, model_id: Any, schedule: Any, state: RunState, one_off: bool = False, jitter_seconds: Any = None
    ) -> None:
        self.model_id = model_id
        self.schedule = schedule
        self.state = state
        self.one_off = one_off
        self.jitter_seconds = jitter_seconds
        #: the scheduled time of the next run (its identity) ...
        self.next_run_at: datetime | None = None

    def due_at(self, slot: datetime) -> datetime:
        """... and when it goes out: the slot plus the task's jitter for that run."""
        if not self.jitter_seconds:
            return slot
        return slot + jitter(self.model_id, slot, self.jitter_seconds)

    def is_missed(self, slot: datetime, now: datetime) -> bool:
        """Whether the run of ``slot`` is too late to send under the task's policy."""
        return is_missed(self.schedule, self.state, slot, now)

    def following(self, slot: datetime, now: datetime) -> datetime | None:
        """The run after ``slot`` if it is sent at ``now``; None when the task ends."""
        if self.one_off:
            return None
        return run_after(self.schedule, slot, now, self.state)

    def __lt__(self, other: TaskPlan) -> bool:
        # Heap items are (due, task id, entry): a tie on both is a stale and a live
        # item of the same task, and either order is right.
        return False

    def __repr__(self) -> str:
        return f"<TaskPlan: task {self.model_id} next={self.next_run_at}>"


class Run:
    """One run to send: the row's message, read when the run fell due."""

    __slots__ = ("args", "kwargs", "model_id", "name", "options", "task")

    def __init__(
        self,
        model_id: Any,
        name: str,
        task: str,
        args: list[Any],
        kwargs: dict[str, Any],
        options: dict[str, Any],
    ) -> None:
        self.model_id = model_id
        self.name = name
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options

    #: the columns :meth:`from_row` reads, in order; the JSON ones as their text
    COLUMNS: tuple[Any, ...] = (
        "id", "name", "task",
        *(Cast(name, output_field=TextField()) for name in ("args", "kwargs", "headers", "options")),
        "queue", "exchange", "routing_key", "priority", "expires", "expire_seconds",
    )  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Run:
        """A run from a row of :attr:`COLUMNS`; :class:`EntryError` says what is wrong with it."""
        (pk, name, task, args, kwargs, headers, options,
         queue, exchange, routing_key, priority, expires, seconds) = row  # fmt: skip
        args, kwargs = decode_json(args), decode_json(kwargs)
        headers, options = decode_json(headers), decode_json(options)
        check_message(args, kwargs, headers, options)
        options = message_options(
            name, options, headers, queue, exchange, routing_key, priority, expires or seconds
        )
        return cls(pk, name, task, args, kwargs, options)

    def __repr__(self) -> str:
        return f"<Run: {self.name} {self.task}>"


def decode_json(text: str | None) -> Any:
    """A JSON column read as text (see :attr:`Run.COLUMNS`); empty ones without the parser."""
    if text is None:
        return None
    if text == "{}":
        return {}
    if text == "[]":
        return []
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EntryError(f"a JSON column cannot be read: {exc}") from exc


def check_message(args: Any, kwargs: Any, headers: Any, options: Any) -> None:
    """Raise :class:`EntryError` unless the message fields have the types Celery needs.

    The model validates on save; rows written around it (raw SQL) are caught here.
    """
    if not isinstance(args, list):
        raise EntryError(f"args is not a JSON list: {args!r}")
    if not isinstance(kwargs, dict):
        raise EntryError(f"kwargs is not a JSON object: {kwargs!r}")
    if not isinstance(headers, dict) or not isinstance(options or {}, dict):
        raise EntryError("headers or options is not a JSON object")


class ModelEntry(ScheduleEntry):
    """Celery's ``ScheduleEntry`` for one periodic task row (names as in django-celery-beat)."""

    def __init__(self, model: Any, app: Any = None, starting_deadline: float | None = None):
        try:
            schedule = model.schedule
        except Exception as exc:  # a schedule row that cannot build its Celery schedule
            raise EntryError(f"its schedule cannot be read: {exc}") from exc
        if schedule is None:
            raise EntryError("it has no schedule (interval, crontab, solar or clocked)")
        check_message(model.args, model.kwargs, model.headers, model.options)
        super().__init__(
            name=model.name,
            task=model.task,
            # never None: Celery would otherwise ask the schedule for "now" per entry
            last_run_at=model.last_run_at or model.date_changed,
            total_run_count=model.total_run_count,
            schedule=schedule,
            args=list(model.args),
            kwargs=dict(model.kwargs),
            options=task_options(model),
            app=app,
        )
        self.model_id = model.pk
        self.one_off = model.one_off
        self.state = model.run_state(starting_deadline)
        self.next_run_at: datetime | None = None

    def is_due(self) -> Any:  # Celery's API, for code that asks an entry directly
        return self.schedule.is_due(self.last_run_at or self.default_now())

    def __repr__(self) -> str:
        return f"<ModelEntry: {self.name} {self.task} next={self.next_run_at}>"
