"""The overlap policy: a task whose ``overlap`` is "skip" gets no new run while one is unfinished.

"Unfinished" is read from the run ledger: a run *recorded*, *sent*, *started* or *retried*.
A run that has had no outcome for longer than the task's ``overlap_timeout`` (or the
``OVERLAP_TIMEOUT`` setting) stops blocking and is marked *no outcome* (lost), so a worker
that died, or a worker without the app installed, never blocks a task for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ..conf import app_settings
from ..models import PeriodicTaskRun
from ..models.dbtime import from_db, to_db
from ..models.querysets import BATCH, chunks
from ..models.runs import ACTIVE_STATES, RunStatus

logger = logging.getLogger("django_periodic.beat")


def blocked(batch: Sequence[Any], now: datetime, using: str = "default") -> set[str]:
    """The run ids in ``batch`` (:class:`~.sending.Outgoing` runs) to skip: their task's
    policy is "skip" and its previous run is unfinished. One query per batch of such tasks."""
    candidates = {item.run.model_id: item for item in batch if item.run.skip_overlap}
    if not candidates:
        return set()
    runs = PeriodicTaskRun._base_manager.using(using).filter(state__in=ACTIVE_STATES)
    busy: set[Any] = set()
    stale: list[Any] = []
    for chunk in chunks(list(candidates), BATCH):
        for pk, task_id, recorded_at in runs.filter(task_id__in=chunk).values_list(
            "pk", "task_id", "recorded_at"
        ):
            timeout = candidates[task_id].run.overlap_timeout or app_settings.OVERLAP_TIMEOUT
            if from_db(recorded_at) < now - timedelta(seconds=timeout):  # type: ignore[operator]
                stale.append(pk)
            else:
                busy.add(task_id)
    if stale:
        logger.warning(
            "%d run(s) had no outcome within their overlap timeout; they no longer block.", len(stale)
        )
        for chunk in chunks(stale):
            PeriodicTaskRun._base_manager.using(using).filter(pk__in=chunk, state__in=ACTIVE_STATES).update(
                state=RunStatus.LOST,
                reason="no outcome within the overlap timeout",
                finished_at=to_db(now, using),
            )
    for task_id in busy:
        logger.info("Run of %s skipped: its previous run has not finished.", candidates[task_id].run.name)
    return {candidates[task_id].run_id for task_id in busy}
