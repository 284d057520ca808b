"""Writing run state: one statement per batch of runs, only the columns beat owns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import F

from ..models.dbtime import to_db

#: Rows per statement; keeps every backend far below its bound-parameter limit.
BATCH = 1000


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LeaseLostError(Exception):
    """A fenced statement found that the writer no longer holds the lease."""


def record_runs(
    model: type[models.Model],
    ran: Sequence[Any],
    finished: Sequence[Any],
    now: datetime,
    using: str = "default",
    lease: Any = None,
) -> int:
    """Record that tasks ``ran`` (ids) were sent at ``now``; ``finished`` ones also end.

    Finished tasks (one-off, or past ``expires``) are disabled in the same
    transaction. Returns the number of statements written. Neither the change
    version nor ``date_changed`` moves: this is beat's own state, not an edit.

    With a ``lease`` (:class:`~django_periodic.leadership.Lease`), the transaction
    first locks the lease row, so no takeover can commit before this record does,
    and every statement carries the lease's fence; :class:`LeaseLostError` is raised, and
    nothing is written, when the lease is no longer held.
    """
    rows = model._base_manager.using(using)
    finished_set = set(finished)
    regular = [pk for pk in ran if pk not in finished_set]
    ended_after_run = [pk for pk in ran if pk in finished_set]
    batches: list[tuple[Sequence[Any], dict[str, Any]]] = [(chunk, {}) for chunk in chunks(regular)]
    batches += [(chunk, {"enabled": False}) for chunk in chunks(ended_after_run)]
    with transaction.atomic(using=using):
        if lease is not None:
            if not lease.lock():
                raise LeaseLostError("this beat no longer holds the lease")
            rows = rows.filter(lease.fence())
        for chunk, extra in batches:
            rows.filter(pk__in=chunk).update(
                last_run_at=to_db(now), total_run_count=F("total_run_count") + 1, **extra
            )
    return len(batches) + (1 if lease is not None else 0)


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
