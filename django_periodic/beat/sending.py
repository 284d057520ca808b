"""Sending recorded runs, and keeping those the broker refused until it takes them.

A run reaches this module already recorded in the database (its claim), so it
must go out: a broker error keeps it, with its identity, in a queue retried with
exponential back-off until the run expires. Only a message that can never be
sent (it cannot be encoded, or its options are invalid) is dropped, loudly.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kombu.exceptions import EncodeError

from .publish import run_task_id
from .runs import Run

logger = logging.getLogger("django_periodic.beat")

#: Errors that no retry can mend (a message that cannot be encoded, bad options);
#: anything else a send raises is taken for a broker problem and retried.
UNSENDABLE = (EncodeError, TypeError, ValueError)

#: send_run(entry, run_id, producer): publishes one run
SendRun = Callable[[Run, str, Any], Any]


@dataclass(order=True)
class PendingRun:
    """A recorded run whose send failed."""

    retry_at: float
    run_id: str = field(compare=False)
    entry: Run = field(compare=False)
    slot: datetime = field(compare=False)
    attempts: int = field(default=1, compare=False)
    expires_at: datetime | None = field(default=None, compare=False)


class RunSender:
    """Publishes batches of runs through ``send_run`` and retries the ones that failed."""

    def __init__(self, app: Any, send_run: SendRun, max_backoff: float,
                 monotonic: Callable[[], float] = time.monotonic):  # fmt: skip
        self.app = app
        self.send_run = send_run
        self.max_backoff = max_backoff
        self.monotonic = monotonic
        self.pending: list[PendingRun] = []
        self.sent = 0

    def send_batch(self, slots: list[tuple[Run, datetime]]) -> None:
        """Send each (entry, slot); on a broker error keep it and the rest for retry."""
        done = 0
        isos: dict[datetime, str] = {}  # runs sent together mostly share their slot
        log = logger.isEnabledFor(logging.INFO)
        try:
            with self.app.producer_or_acquire() as producer:
                for entry, slot in slots:
                    iso = isos.get(slot)
                    if iso is None:
                        iso = isos[slot] = slot.isoformat()
                    run_id = run_task_id(entry.model_id, iso)
                    if log:
                        logger.info(
                            "Sending due task %s (%s) for %s, id %s", entry.name, entry.task, iso, run_id
                        )
                    self._send_once(entry, run_id, producer)
                    done += 1
        except Exception as exc:  # the broker (connection, channel, publish): retry later
            left = slots[done:]
            logger.error("Broker error: %s; %d run(s) kept for retry, beat keeps running.", exc, len(left))
            for entry, slot in left:
                self.keep(entry, slot, run_task_id(entry.model_id, slot))

    def _send_once(self, entry: Run, run_id: str, producer: Any) -> None:
        try:
            self.send_run(entry, run_id, producer)
            self.sent += 1
        except UNSENDABLE as exc:
            logger.exception("Run %s of %s can never be sent, dropped: %s", run_id, entry.name, exc)

    def keep(self, entry: Run, slot: datetime, run_id: str, attempts: int = 1) -> None:
        """Queue a run for another try after a back-off that doubles with each attempt."""
        expires = entry.options.get("expires")
        if isinstance(expires, (int, float)):
            expires = slot + timedelta(seconds=expires)
        delay = min(2.0 ** (attempts - 1), self.max_backoff)
        heapq.heappush(
            self.pending, PendingRun(self.monotonic() + delay, run_id, entry, slot, attempts, expires)
        )

    def seconds_until_retry(self) -> float | None:
        """When the next retry is due, or None when nothing waits."""
        return self.pending[0].retry_at - self.monotonic() if self.pending else None

    def retry_due(self, now: datetime) -> None:
        """Try again the runs whose back-off is over; stop at the first broker error."""
        ready: list[PendingRun] = []
        while self.pending and self.pending[0].retry_at <= self.monotonic():
            ready.append(heapq.heappop(self.pending))
        for index, pending in enumerate(ready):
            if pending.expires_at is not None and now >= pending.expires_at:
                logger.error("Run %s of %s expired before the broker came back: dropped.",
                             pending.run_id, pending.entry.name)  # fmt: skip
                continue
            try:
                self._send_once(pending.entry, pending.run_id, None)
            except Exception as exc:
                logger.error("Broker still failing for %s: %s", pending.entry.name, exc)
                self._keep_all(ready[index:])
                return
            logger.info("Sent %s (id %s) after %d failed attempt(s).",
                        pending.entry.name, pending.run_id, pending.attempts)  # fmt: skip

    def _keep_all(self, runs: Iterable[PendingRun]) -> None:
        for run in runs:
            self.keep(run.entry, run.slot, run.run_id, run.attempts + 1)

    def flush(self, now: datetime) -> None:
        """One last try for every waiting run (beat is stopping); name those that fail."""
        for pending in self.pending:
            pending.retry_at = 0.0
        self.retry_due(now)
        if self.pending:
            logger.warning(
                "%d recorded run(s) could not be sent before shutdown: %s",
                len(self.pending),
                ", ".join(f"{p.entry.name} ({p.run_id})" for p in self.pending),
            )
            self.pending.clear()
