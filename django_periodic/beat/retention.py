"""Keeping the run ledger to its retention settings, away from the send path.

Beat prunes only when nothing is due for a while, one bounded batch at a time (at most
1,000 rows), once a minute while there is nothing left to prune, at once again while
there is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..conf import app_settings
from ..models.runs import prune_runs

logger = logging.getLogger("django_periodic.beat")

#: Seconds between two pruning passes once the ledger is within its limits.
PRUNE_EVERY = 60.0


class Retention:
    """When to prune the ledger, and where the last pass stopped."""

    def __init__(self, using: str = "default", monotonic: Callable[[], float] = time.monotonic) -> None:
        self.using = using
        self.monotonic = monotonic
        self.next_pass = 0.0
        self._after_task: Any = None

    def maybe_prune(self, now: datetime, next_due: datetime | None) -> int:
        """One bounded pass if it is time and nothing is due within a second; returns rows deleted."""
        if self.monotonic() < self.next_pass or (
            next_due is not None and (next_due - now).total_seconds() < 1
        ):
            return 0
        deleted, self._after_task = prune_runs(
            now,
            app_settings.RUNS_KEEP_PER_TASK,
            app_settings.RUNS_KEEP_DAYS,
            using=self.using,
            after_task=self._after_task,
        )
        more = deleted > 0 or self._after_task is not None
        self.next_pass = self.monotonic() + (0.0 if more else PRUNE_EVERY)
        if deleted:
            logger.info("Pruned %d run(s) from the run ledger.", deleted)
        return deleted
