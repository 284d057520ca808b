"""Writing run state and the run ledger: one fenced transaction, a statement per batch of runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import F

from ..models.dbtime import to_db
from ..models.querysets import BATCH, chunks
from . import metrics
from .ledger import LedgerRow, insert_runs, ledger_rows, recorded_before


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
    last_run = {"last_run_at": to_db(now, using)}
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
            statements += _write_ledger([run for run in ledger if run.task_id not in gone], using, duplicates)
    return statements


def _write_ledger(rows: Sequence[LedgerRow], using: str, duplicates: set[str] | None) -> int:
    """Insert the rows whose run ids are new to the ledger; note the others in ``duplicates``."""
    before = recorded_before(rows, using)
    statements = len(range(0, len(rows), BATCH))
    if before:
        rows = [row for row in rows if row.celery_task_id not in before]
        if duplicates is not None:
            duplicates |= before
    return statements + insert_runs(rows, using)


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
    rows: list[LedgerRow] = []
    missed_runs: list[tuple[Any, str, datetime]] = []
    if missed and (ledger or metrics.active.enabled):
        names = dict(
            model._base_manager.using(using)
            .filter(pk__in=[plan.model_id for plan, _slot in missed])
            .values_list("pk", "name")
        )
        missed_runs = [
            (plan.model_id, names[plan.model_id], slot) for plan, slot in missed if plan.model_id in names
        ]
    if ledger:
        rows = ledger_rows(batch, overlapping, missed_runs, now, late_after, using)
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
    if metrics.active.enabled:
        _count_skipped(batch, overlapping, missed_runs)
    return statements, duplicates


def _count_skipped(
    batch: Sequence[Any], overlapping: set[str], missed_runs: Sequence[tuple[Any, str, datetime]]
) -> None:
    """Report the runs skipped by the overlap policy and by the missed-run policy (once recorded)."""
    for item in batch:
        if item.run_id in overlapping:
            metrics.active.skipped(item.run.name, metrics.SKIPPED_OVERLAP)
    for _task_id, name, _slot in missed_runs:
        metrics.active.skipped(name, metrics.SKIPPED_MISSED)
