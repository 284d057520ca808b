"""Writing run state and the run ledger: one fenced transaction, a statement per batch of runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connections, models, transaction
from django.db.models import Case, F, Value, When
from django.db.models.constants import OnConflict

from ..models import PeriodicTaskRun
from ..models.dbtime import to_db
from ..models.querysets import BATCH, chunks
from ..models.runs import RunStatus, Trigger
from .publish import run_task_id


class LeaseLostError(Exception):
    """A fenced statement found that the writer no longer holds the lease."""


def record_runs(
    model: type[models.Model],
    ran: Sequence[Any],
    finished: Sequence[Any],
    now: datetime,
    using: str = "default",
    lease: Any = None,
    ledger: Sequence[Any] = (),
    skipped: Sequence[Any] = (),
    duplicates: set[str] | None = None,
) -> int:
    """Record in one transaction that tasks ``ran`` (ids) were sent at ``now`` (``finished``
    ones also end: one-off, or past ``expires``), that ``skipped`` ones skipped a run
    (``last_run_at``, no count), and insert their ``ledger`` rows. Returns the statements
    written. Neither the version nor ``date_changed`` moves: this is beat's state, not an edit.

    With a ``lease``, the transaction first locks the lease row (no takeover commits before
    it) and every statement carries the lease's fence. A statement that changes fewer rows
    than it must is checked: a lost lease raises :class:`LeaseLostError` and nothing is
    written; rows deleted meanwhile are left out of the ledger. A ledger row whose run id is
    in the ledger already (that run was recorded before) is not inserted again, and its id
    is added to ``duplicates``: that run must not be sent again.
    """
    rows = model._base_manager.using(using)
    finished_set = set(finished)
    last_run = {"last_run_at": to_db(now)}
    counted = {**last_run, "total_run_count": F("total_run_count") + 1}
    batches: list[tuple[Sequence[Any], dict[str, Any]]] = [
        *((chunk, counted) for chunk in chunks([pk for pk in ran if pk not in finished_set])),
        *(
            (chunk, {**counted, "enabled": False})
            for chunk in chunks([pk for pk in ran if pk in finished_set])
        ),
        *((chunk, last_run) for chunk in chunks(list(skipped))),
    ]
    statements = len(batches)
    with transaction.atomic(using=using):
        if lease is not None:
            if not lease.lock():
                raise LeaseLostError("this beat no longer holds the lease")
            rows = rows.filter(lease.fence())
            statements += 1
        gone: set[Any] = set()
        for chunk, values in batches:
            if rows.filter(pk__in=chunk).update(**values) != len(chunk):
                gone |= _missing(model, chunk, using, lease)
        if ledger:
            kept = [run for run in ledger if run.task_id not in gone]
            before = recorded_before(kept, using)
            statements += len(range(0, len(kept), BATCH))
            if before:
                kept = [run for run in kept if run.celery_task_id not in before]
                if duplicates is not None:
                    duplicates |= before
            statements += insert_runs(kept, using)
    return statements


def insert_runs(rows: Sequence[PeriodicTaskRun], using: str = "default") -> int:
    """Insert ledger rows, one prepared statement run over each batch of rows (``executemany``:
    one statement per batch on every backend, where ``bulk_create`` splits a batch into many on
    SQLite). A row whose Celery task id is in the ledger already is left out, never an error
    that would stop the batch. Returns the statements written."""
    connection = connections[using]
    fields = [f for f in PeriodicTaskRun._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = "{} {} ({}) VALUES ({}) {}".format(
        connection.ops.insert_statement(on_conflict=OnConflict.IGNORE),
        quote(PeriodicTaskRun._meta.db_table),
        ", ".join(quote(f.column) for f in fields if f.column),
        ", ".join(["%s"] * len(fields)),
        connection.ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None),
    )
    statements = 0
    with connection.cursor() as cursor:
        for chunk in chunks(list(rows)):
            params = [
                [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] for row in chunk
            ]
            cursor.executemany(sql.rstrip(), params)
            statements += 1
    return statements


def recorded_before(rows: Sequence[PeriodicTaskRun], using: str = "default") -> set[str]:
    """The run ids among ``rows`` that the ledger holds already (one indexed read per batch):
    a run recorded once is never recorded, nor sent, a second time from beat's plan."""
    ledger = PeriodicTaskRun._base_manager.using(using)
    found: set[str] = set()
    for chunk in chunks([row.celery_task_id for row in rows]):
        found |= set(ledger.filter(celery_task_id__in=chunk).values_list("celery_task_id", flat=True))
    return found


def _missing(model: type[models.Model], chunk: Sequence[Any], using: str, lease: Any) -> set[Any]:
    """Why a fenced statement changed fewer rows than it had to: a lost lease (raised)
    or rows deleted meanwhile (returned)."""
    if lease is not None and not lease.lock():
        raise LeaseLostError("the lease ran out while runs were being recorded")
    present = set(model._base_manager.using(using).filter(pk__in=chunk).values_list("pk", flat=True))
    return set(chunk) - present


def disable(model: type[models.Model], pks: Sequence[Any], using: str = "default") -> None:
    """Disable tasks that will never run again (expired), without touching their version."""
    rows = model._base_manager.using(using)
    for chunk in chunks(list(pks)):
        rows.filter(pk__in=chunk).update(enabled=False)


def set_load_errors(model: type[models.Model], errors: dict[Any, str], using: str = "default") -> None:
    """Store why rows could not be loaded (empty string clears), one statement per reason."""
    by_reason: dict[str, list[Any]] = {}
    for pk, reason in errors.items():
        by_reason.setdefault(reason, []).append(pk)
    rows = model._base_manager.using(using)
    for reason, pks in by_reason.items():
        for chunk in chunks(pks):
            rows.filter(pk__in=chunk).update(load_error=reason)


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
        rows.filter(celery_task_id__in=chunk).update(state=state, sent_at=to_db(now))
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
                state=RunStatus.NOT_SENT, reason=reason, finished_at=to_db(now)
            )


def ledger_rows(
    batch: Sequence[Any],
    overlapping: set[str],
    missed: Sequence[tuple[Any, str, datetime]],
    now: datetime,
    late_after: float,
) -> list[PeriodicTaskRun]:
    """The ledger rows of a batch (:class:`~.sending.Outgoing` runs): *recorded*, or
    *skipped* for the runs in ``overlapping`` (run ids) and the ``missed`` (task id, name,
    slot) runs the missed-run policy skipped. A run that goes out more than ``late_after``
    seconds after its slot is a catch-up."""
    recorded_at = to_db(now)
    rows = []
    for item in batch:
        late = (now - item.slot).total_seconds() > late_after
        row = PeriodicTaskRun(
            task_id=item.run.model_id,
            task_name=item.run.name,
            scheduled_at=to_db(item.slot),
            celery_task_id=item.run_id,
            trigger=Trigger.CATCH_UP if late else Trigger.SCHEDULE,
            recorded_at=recorded_at,
        )
        if item.run_id in overlapping:
            row.state, row.reason, row.finished_at = RunStatus.SKIPPED, OVERLAP_REASON, recorded_at
        rows.append(row)
    for task_id, name, slot in missed:
        rows.append(
            PeriodicTaskRun(
                task_id=task_id,
                task_name=name,
                scheduled_at=to_db(slot),
                celery_task_id=run_task_id(task_id, slot),
                trigger=Trigger.SCHEDULE,
                state=RunStatus.SKIPPED,
                reason=f"missed: {(now - slot).total_seconds():.0f}s late, past its grace period",
                recorded_at=recorded_at,
                finished_at=recorded_at,
            )
        )
    return rows


#: The reason a run skipped by the overlap policy carries in the ledger.
OVERLAP_REASON = "overlap: the previous run has not finished"


def record_batch(
    model: Any,
    sending: Sequence[tuple[Any, datetime, datetime | None]],
    batch: Sequence[Any],
    overlapping: set[str],
    missed: Sequence[tuple[Any, datetime]],
    now: datetime,
    *,
    using: str,
    lease: Any,
    ledger: bool,
    late_after: float,
) -> tuple[int, set[str]]:
    """:func:`record_runs` for one send: ``sending`` (plan, slot, following slot) and its
    ``batch`` of runs, less the ``overlapping`` ones (skipped), and the ``missed`` (plan,
    slot) runs the missed-run policy skipped. Returns the statements written and the run ids
    that were recorded before (not to be sent again)."""
    ran = [(plan, following) for (plan, _slot, following), item in zip(sending, batch, strict=True)
           if item.run_id not in overlapping]  # fmt: skip
    rows: list[PeriodicTaskRun] = []
    if ledger:
        names = dict(
            model._base_manager.using(using)
            .filter(pk__in=[plan.model_id for plan, _slot in missed])
            .values_list("pk", "name")
        ) if missed else {}  # fmt: skip
        missed_runs = [
            (plan.model_id, names[plan.model_id], slot) for plan, slot in missed if plan.model_id in names
        ]
        rows = ledger_rows(batch, overlapping, missed_runs, now, late_after)
    duplicates: set[str] = set()
    statements = record_runs(
        model,
        [plan.model_id for plan, _following in ran],
        [plan.model_id for plan, following in ran if following is None],
        now,
        using,
        lease=lease,
        ledger=rows,
        skipped=[item.run.model_id for item in batch if item.run_id in overlapping],
        duplicates=duplicates,
    )
    return statements, duplicates
