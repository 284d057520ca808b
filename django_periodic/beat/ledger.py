"""Beat's writes to the run ledger: new rows (the outbox), *sent*, *not sent*.

A burst writes thousands of rows, so they are plain tuples, not model instances, and go
in with one statement per batch: a multi-row ``INSERT`` on PostgreSQL and MySQL, a
prepared statement run over the batch (``executemany``) on SQLite, where a multi-row
statement would hit its bound-parameter limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connections
from django.db.models import Case, F, Value, When
from django.db.models.constants import OnConflict

from ..models import PeriodicTaskRun
from ..models.bulkcopy import copies, copy_rows
from ..models.dbtime import to_db
from ..models.querysets import BATCH, chunks
from ..models.runs import RunStatus, Trigger
from .publish import run_task_id

#: The reason a run skipped by the overlap policy carries in the ledger.
OVERLAP_REASON = "overlap: the previous run has not finished"


class LedgerRow(NamedTuple):
    """A new ledger row, with the columns beat writes (the others take their defaults)."""

    task_id: Any
    task_name: str
    scheduled_at: datetime
    celery_task_id: str
    trigger: str
    state: str = RunStatus.RECORDED.value
    reason: str = ""
    recorded_at: datetime | None = None
    finished_at: datetime | None = None


#: The other columns of a new row, and their values.
DEFAULTS = {"worker": "", "retries": 0, "sent_at": None, "started_at": None}
DATETIMES = ("scheduled_at", "recorded_at", "finished_at")


def ledger_rows(
    batch: Sequence[Any],
    overlapping: set[str],
    missed: Sequence[tuple[Any, str, datetime]],
    now: datetime,
    late_after: float,
    using: str = "default",
) -> list[LedgerRow]:
    """The ledger rows of a batch (:class:`~.sending.Outgoing` runs): *recorded*, or
    *skipped* for the runs in ``overlapping`` (run ids) and the ``missed`` (task id, name,
    slot) runs the missed-run policy skipped. A run that goes out more than ``late_after``
    seconds after its slot is a catch-up. Datetimes are as the database takes them."""
    recorded_at = to_db(now, using)
    slots: dict[datetime, datetime] = {}  # runs of a batch mostly share their slot
    rows = []
    for item in batch:
        slot = slots.get(item.slot) or slots.setdefault(item.slot, to_db(item.slot, using))
        trigger = (
            Trigger.CATCH_UP.value
            if (now - item.slot).total_seconds() > late_after
            else Trigger.SCHEDULE.value
        )
        row = LedgerRow(item.run.model_id, item.run.name, slot, item.run_id, trigger, recorded_at=recorded_at)
        if item.run_id in overlapping:
            row = row._replace(state=RunStatus.SKIPPED.value, reason=OVERLAP_REASON, finished_at=recorded_at)
        rows.append(row)
    for task_id, name, slot in missed:
        reason = f"missed: {(now - slot).total_seconds():.0f}s late, past its grace period"
        run_id = run_task_id(task_id, slot)
        skipped = RunStatus.SKIPPED.value
        rows.append(
            LedgerRow(
                task_id,
                name,
                to_db(slot, using),
                run_id,
                Trigger.SCHEDULE.value,
                skipped,
                reason,
                recorded_at,
                recorded_at,
            )
        )
    return rows


def insert_runs(rows: Sequence[LedgerRow], using: str = "default") -> int:
    """Insert ledger rows, one statement per batch; a row whose Celery task id is in the
    ledger already is left out, never an error that would stop the batch. Returns the
    statements written."""
    connection = connections[using]
    ops = connection.ops
    opts = PeriodicTaskRun._meta
    names = [*LedgerRow._fields, *DEFAULTS]
    columns = ", ".join(ops.quote_name(opts.get_field(name).column) for name in names)  # type: ignore[union-attr,arg-type]
    one_row = "({})".format(", ".join(["%s"] * len(names)))
    insert = ops.insert_statement(on_conflict=OnConflict.IGNORE)
    head = f"{insert} {ops.quote_name(opts.db_table)} ({columns}) VALUES"
    tail = ops.on_conflict_suffix_sql([], OnConflict.IGNORE, None, None)
    adapted: dict[Any, Any] = {}  # a burst shares a few datetimes: adapt each once
    dated = [LedgerRow._fields.index(name) for name in DATETIMES]
    defaults = list(DEFAULTS.values())

    def values(row: LedgerRow) -> list[Any]:
        out = list(row)
        for index in dated:
            value = out[index]
            if value is not None:
                out[index] = adapted.get(value) or adapted.setdefault(
                    value, ops.adapt_datetimefield_value(value)
                )
        return out + defaults

    statements = 0
    with connection.cursor() as cursor:
        for chunk in chunks(list(rows), BATCH):
            params = [values(row) for row in chunk]
            if copies(connection):
                # COPY is 4-5 times faster than a multi-row INSERT here. It has no ON
                # CONFLICT, but recorded_before() has left out every known run id, under
                # the lease lock. Run through Django's wrappers, so it is counted and logged.
                copy_sql = f"COPY {ops.quote_name(opts.db_table)} ({columns}) FROM STDIN"
                cursor._execute_with_wrappers(copy_sql, params, many=True, executor=copy_rows)
            elif connection.vendor == "sqlite":
                cursor.executemany(f"{head} {one_row} {tail}".rstrip(), params)
            else:
                sql = f"{head} {', '.join([one_row] * len(params))} {tail}".rstrip()
                cursor.execute(sql, [value for row in params for value in row])
            statements += 1
    return statements


def recorded_before(rows: Sequence[LedgerRow], using: str = "default") -> set[str]:
    """The run ids among ``rows`` that the ledger holds already (one indexed read per batch):
    a run recorded once is never recorded, nor sent, a second time from beat's plan."""
    ledger = PeriodicTaskRun._base_manager.using(using)
    found: set[str] = set()
    for chunk in chunks([row.celery_task_id for row in rows]):
        found |= set(ledger.filter(celery_task_id__in=chunk).values_list("celery_task_id", flat=True))
    return found


def mark_sent(celery_task_ids: Sequence[str], now: datetime, using: str = "default") -> int:
    """Mark published runs *sent* (one statement per batch); returns the statements written.

    A worker may have marked a run *started* already: only ``sent_at`` is filled then.
    """
    if not celery_task_ids:
        return 0
    rows = PeriodicTaskRun._base_manager.using(using).filter(sent_at__isnull=True)
    state = Case(When(state=RunStatus.RECORDED, then=Value(RunStatus.SENT.value)), default=F("state"))
    statements = 0
    for chunk in chunks(list(celery_task_ids)):
        rows.filter(celery_task_id__in=chunk).update(state=state, sent_at=to_db(now, using))
        statements += 1
    return statements


def mark_not_sent(reasons: dict[str, str], now: datetime, using: str = "default") -> None:
    """Mark recorded runs *not sent*, by Celery task id, with the reason (one statement per reason)."""
    by_reason: dict[str, list[str]] = {}
    for celery_task_id, reason in reasons.items():
        by_reason.setdefault(reason[:255], []).append(celery_task_id)
    rows = PeriodicTaskRun._base_manager.using(using).filter(state=RunStatus.RECORDED)
    for reason, ids in by_reason.items():
        for chunk in chunks(ids):
            rows.filter(celery_task_id__in=chunk).update(
                state=RunStatus.NOT_SENT, reason=reason, finished_at=to_db(now, using)
            )
