"""Celery's view of the schedule: a ``ModelEntry`` per task row, built on demand.

Beat itself keeps only timing in memory (:mod:`.plans`). For code written against
Celery's or django-celery-beat's API, ``DatabaseScheduler.schedule`` is a
:class:`ScheduleView`, a mapping of task names to :class:`ModelEntry` objects read
from the database when asked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from celery.beat import ScheduleEntry

from ..models.querysets import SCHEDULE_FIELDS, chunks
from .publish import task_options
from .runs import RowError, check_message


class ModelEntry(ScheduleEntry):
    """Celery's ``ScheduleEntry`` for one periodic task row (names as in django-celery-beat)."""

    def __init__(self, model: Any, app: Any = None, starting_deadline: float | None = None):
        try:
            schedule = model.schedule
        except Exception as exc:  # a schedule row that cannot build its Celery schedule
            raise RowError(f"its schedule cannot be read: {exc}") from exc
        if schedule is None:
            raise RowError("it has no schedule (interval, crontab, solar or clocked)")
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


class ScheduleView(Mapping[str, ModelEntry]):
    """``DatabaseScheduler.schedule``: names of the tasks beat holds -> Celery entries.

    ``len()`` costs nothing; iterating costs a query per batch of tasks, and each
    entry looked up one query.
    """

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def _rows(self) -> Any:
        return self.scheduler.Model._base_manager.using(self.scheduler.using)

    def __len__(self) -> int:
        return len(self.scheduler.plans)

    def __iter__(self) -> Iterator[str]:
        names = self._rows().values_list("name", flat=True)
        for chunk in chunks(list(self.scheduler.plans)):
            yield from names.filter(pk__in=chunk)

    def __getitem__(self, name: str) -> ModelEntry:
        scheduler = self.scheduler
        row = self._rows().select_related(*SCHEDULE_FIELDS).filter(name=name).first()
        plan = scheduler.plans.get(row.pk) if row is not None else None
        if plan is None:
            raise KeyError(name)
        try:
            entry = scheduler.Entry(
                row, app=scheduler.app, starting_deadline=scheduler.app.conf.beat_cron_starting_deadline
            )
        except RowError as exc:
            raise KeyError(name) from exc
        entry.next_run_at = plan.next_run_at
        return entry
