"""Beat's in-memory view of one periodic task row."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from celery.beat import ScheduleEntry

from .dispatch import task_options
from .planning import first_run, is_missed, jitter, run_after


class EntryError(ValueError):
    """A row that cannot become an entry; the message says why, for the log and the admin."""


class ModelEntry(ScheduleEntry):
    """A periodic task as beat holds it: what to send, and when next."""

    def __init__(self, model: Any, app: Any = None, starting_deadline: float | None = None):
        try:
            schedule = model.schedule
        except Exception as exc:  # a schedule row that cannot build its Celery schedule
            raise EntryError(f"its schedule cannot be read: {exc}") from exc
        if schedule is None:
            raise EntryError("it has no schedule (interval, crontab, solar or clocked)")
        if not isinstance(model.args, list):
            raise EntryError(f"args is not a JSON list: {model.args!r}")
        if not isinstance(model.kwargs, dict):
            raise EntryError(f"kwargs is not a JSON object: {model.kwargs!r}")
        if not isinstance(model.headers, dict) or not isinstance(model.options or {}, dict):
            raise EntryError("headers or options is not a JSON object")
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
        self.jitter_seconds = model.jitter_seconds
        self.state = model.run_state(starting_deadline)
        #: the scheduled time of the next run (its identity) ...
        self.next_run_at: datetime | None = None

    def due_at(self, slot: datetime) -> datetime:
        """... and when it goes out: the slot plus the task's jitter for that run."""
        return slot + jitter(self.model_id, slot, self.jitter_seconds)

    def is_missed(self, slot: datetime, now: datetime) -> bool:
        """Whether the run of ``slot`` is too late to send under the task's policy."""
        return is_missed(self.schedule, self.state, slot, now)

    def plan(self, now: datetime) -> datetime | None:
        """Set and return the next run, from the run state read from the database."""
        self.next_run_at = first_run(self.schedule, self.state, now)
        return self.next_run_at

    def following(self, slot: datetime, now: datetime) -> datetime | None:
        """The run after ``slot`` if it is sent at ``now``; None when the task ends."""
        if self.one_off:
            return None
        return run_after(self.schedule, slot, now, self.state)

    def mark_sent(self, now: datetime, next_run_at: datetime | None) -> None:
        """Record in memory that the due run went out at ``now``."""
        self.last_run_at = now
        self.total_run_count += 1
        self.state = replace(self.state, last_run_at=now)
        self.next_run_at = next_run_at

    def is_due(self) -> Any:  # Celery's API, for code that asks an entry directly
        return self.schedule.is_due(self.last_run_at or self.default_now())

    def __repr__(self) -> str:
        return f"<ModelEntry: {self.name} {self.task} next={self.next_run_at}>"
