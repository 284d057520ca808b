"""What a run sends: a task row's message, read when the run falls due.

Beat keeps only *when* tasks run in memory (:mod:`.plans`). *What* to send (task
name, args, kwargs, options) is read from the row when a run falls due, one query
per batch, and becomes a :class:`Run`. So memory does not grow with the size of
the arguments, and a run always carries the row's current arguments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import TextField
from django.db.models.functions import Cast

from ..models.querysets import BATCH, chunks
from ..models.validators import time_options
from .publish import message_options

logger = logging.getLogger("django_periodic.beat")


class RowError(ValueError):
    """A row that cannot be scheduled or sent; the message says why, for the log and the admin."""


class Run:
    """One run to send: the row's message, read when the run fell due."""

    __slots__ = ("args", "kwargs", "model_id", "name", "options", "overlap_timeout", "skip_overlap", "task")

    def __init__(
        self,
        model_id: Any,
        name: str,
        task: str,
        args: list[Any],
        kwargs: dict[str, Any],
        options: dict[str, Any],
        skip_overlap: bool = False,
        overlap_timeout: int | None = None,
    ) -> None:
        self.model_id = model_id
        self.name = name
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options
        #: the task's overlap policy is "skip": no run while the previous one is unfinished
        self.skip_overlap = skip_overlap
        self.overlap_timeout = overlap_timeout

    #: the columns :meth:`from_row` reads, in order; the JSON ones as their text
    COLUMNS: tuple[Any, ...] = (
        "id", "name", "task",
        *(Cast(name, output_field=TextField()) for name in ("args", "kwargs", "headers", "options")),
        "queue", "exchange", "routing_key", "priority", "expires", "expire_seconds",
        "overlap", "overlap_timeout",
    )  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Run:
        """A run from a row of :attr:`COLUMNS`; :class:`RowError` says what is wrong with it."""
        (pk, name, task, args, kwargs, headers, options, queue, exchange,
         routing_key, priority, expires, seconds, overlap, overlap_timeout) = row  # fmt: skip
        args, kwargs = decode_json(args), decode_json(kwargs)
        headers, options = decode_json(headers), decode_json(options)
        check_message(args, kwargs, headers, options)
        try:  # what Celery would refuse or overflow on, read as it takes it (ISO text -> datetime)
            options = time_options(options) if options else options
        except ValidationError as exc:
            raise RowError(" ".join(exc.messages)) from exc
        options = message_options(
            name, options, headers, queue, exchange, routing_key, priority, expires or seconds
        )
        return cls(pk, name, task, args, kwargs, options, overlap == "skip", overlap_timeout)

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
        raise RowError(f"a JSON column cannot be read: {exc}") from exc


def check_message(args: Any, kwargs: Any, headers: Any, options: Any) -> None:
    """Raise :class:`RowError` unless the message fields have the types Celery needs.

    The model validates on save; rows written around it (raw SQL) are caught here.
    """
    if not isinstance(args, list):
        raise RowError(f"args is not a JSON list: {args!r}")
    if not isinstance(kwargs, dict):
        raise RowError(f"kwargs is not a JSON object: {kwargs!r}")
    if not isinstance(headers, dict) or not isinstance(options or {}, dict):
        raise RowError("headers or options is not a JSON object")


def read_runs(
    model: Any, task_ids: Sequence[Any], using: str, enabled_only: bool = True
) -> tuple[dict[Any, Run], dict[Any, str]]:
    """The runs of the (enabled) tasks ``task_ids``, read from their rows (one query per
    batch), and why each unusable row cannot be sent (logged here)."""
    runs: dict[Any, Run] = {}
    errors: dict[Any, str] = {}
    rows = model._base_manager.using(using)
    rows = (rows.filter(enabled=True) if enabled_only else rows).values_list(*Run.COLUMNS)
    for chunk in chunks(task_ids, BATCH):
        for row in rows.filter(pk__in=chunk):
            try:
                run = Run.from_row(row)
            except Exception as exc:  # RowError, or anything else one row's fields raise
                task_id, name = row[0], row[1]
                logger.error("Task %r (id %s) cannot be sent and is skipped: %s", name, task_id, exc)
                errors[task_id] = f"{exc}"
                continue
            runs[run.model_id] = run
    return runs, errors
