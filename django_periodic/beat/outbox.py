"""The outbox: runs recorded in the ledger but never marked sent, published by the next leader.

Whatever stopped the beat that recorded them (SIGTERM, kill -9, a lost lease, a database or
broker outage), a run left *recorded* is published again with its own task id when a beat
starts leading, unless it can no longer go out: its task was deleted or its message is
unusable, or it expired. Those are marked *not sent* with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from ..models import PeriodicTaskRun
from ..models.dbtime import aware_utc, to_db
from ..models.querysets import BATCH
from ..models.runs import RunStatus, Trigger
from . import metrics
from .ledger import mark_not_sent
from .runs import read_runs
from .sending import Outgoing, RunSender

logger = logging.getLogger("django_periodic.beat")

#: How long a "run now" row may stay recorded before beat takes it for left behind.
RUN_NOW_GRACE = timedelta(seconds=60)


def recover(sender: RunSender, model: Any, now: datetime, using: str = "default", limit: int = BATCH) -> int:
    """Publish (or account for) up to ``limit`` recorded runs not waiting in ``sender``'s
    retry queue, oldest first; returns how many were found."""
    waiting = sender.pending_ids()
    rows = [
        row
        for row in PeriodicTaskRun._base_manager.using(using)
        .filter(state=RunStatus.RECORDED)
        # a "run now" the web process is sending this very moment is its to account for
        .exclude(trigger=Trigger.RUN_NOW, recorded_at__gt=to_db(now - RUN_NOW_GRACE, using))
        .order_by("recorded_at", "pk")
        .values_list("celery_task_id", "task_id", "task_name", "scheduled_at")[: limit + len(waiting)]
        if row[0] not in waiting
    ][:limit]
    if not rows:
        return 0
    runs, errors = read_runs(model, list({task_id for _id, task_id, _name, _slot in rows if task_id}), using,
                             enabled_only=False)  # fmt: skip
    outgoing: list[Outgoing] = []
    not_sent: dict[str, str] = {}
    for celery_task_id, task_id, name, slot in rows:
        run = runs.get(task_id)
        if run is None:
            not_sent[celery_task_id] = errors.get(task_id) or "its task was deleted before it could be sent"
            why = metrics.NOT_SENT_UNSENDABLE if task_id in errors else metrics.NOT_SENT_DELETED
            metrics.active.not_sent(name, why)
            continue
        item = Outgoing(run, aware_utc(slot, None), celery_task_id)  # type: ignore[arg-type]
        expires_at = item.expires_at
        if expires_at is not None and now >= expires_at:
            not_sent[celery_task_id] = "expired before a beat could send it"
            metrics.active.not_sent(name, metrics.NOT_SENT_EXPIRED)
        else:
            outgoing.append(item)
    for celery_task_id, reason in not_sent.items():
        logger.warning("Recorded run %s was not sent: %s.", celery_task_id, reason)
    mark_not_sent(not_sent, now, using)
    if outgoing:
        logger.warning(
            "Sending %d run(s) recorded earlier but never marked sent (same task ids): %s",
            len(outgoing),
            ", ".join(f"{item.run.name} ({item.run_id})" for item in outgoing[:20]),
        )
        sender.send_batch(outgoing, now)
    return len(rows)
