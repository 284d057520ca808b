"""Publishing recorded runs, and keeping those the broker refused until it takes them.

A run reaches this module already recorded in the database (its ledger row is its
outbox entry), so it must go out: a broker error keeps it, with its identity, in a
queue retried with exponential back-off until the run expires. A run that can never
be sent (its message cannot be encoded, its options are invalid) or that expired is
marked *not sent* in the ledger with the reason. Runs published are marked *sent* in
batches, even when beat is interrupted half-way through a batch.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import Error as DatabaseError
from kombu.exceptions import OperationalError as KombuOperationalError

from ..models.dbtime import from_db
from . import metrics
from .ledger import mark_not_sent, mark_sent
from .runs import Run

logger = logging.getLogger("django_periodic.beat")

#: What a broker that is down or refusing raises (with the transport's own errors, see
#: :meth:`RunSender.broker_errors`): such runs are kept and retried. Anything else a send
#: raises (a message that cannot be encoded, an option Celery refuses or overflows on)
#: no retry can mend: that run is marked not sent and the batch goes on.
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuOperationalError, ConnectionError, OSError)

#: How many runs are published between two looks at the lease (a look is a clock read,
#: and a renewal when one is due).
LEASE_CHECK_EVERY = 100

#: send_run(run, run_id, producer): publishes one run
SendRun = Callable[[Run, str, Any], Any]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One run to publish: its message, its scheduled time and its Celery task id."""

    run: Run
    slot: datetime
    run_id: str

    @property
    def expires_at(self) -> datetime | None:
        """When the run may no longer go out (its ``expires`` option), if ever."""
        expires = self.run.options.get("expires")
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            return self.slot + timedelta(seconds=expires)
        # a naive datetime (the expires column with USE_TZ = False) is in TIME_ZONE
        return from_db(expires) if isinstance(expires, datetime) else None


@dataclass(order=True)
class PendingRun:
    """A recorded run whose send failed."""

    retry_at: float
    outgoing: Outgoing = field(compare=False)
    attempts: int = field(default=1, compare=False)


class RunSender:
    """Publishes batches of runs through ``send_run``, retries the ones that failed, and
    writes what became of each to the run ledger (when ``ledger`` is on)."""

    def __init__(self, app: Any, send_run: SendRun, max_backoff: float, *, ledger: bool = True,
                 using: str = "default", monotonic: Callable[[], float] = time.monotonic,
                 still_leader: Callable[[], bool] = lambda: True):  # fmt: skip
        self.app = app
        #: renews the lease when due and says whether this beat may go on sending; asked
        #: every LEASE_CHECK_EVERY runs, so a long batch never outlives the lease
        self.still_leader = still_leader
        self.send_run = send_run
        self.max_backoff = max_backoff
        self.ledger = ledger
        self.using = using
        self.monotonic = monotonic
        self.pending: list[PendingRun] = []
        self._broker_errors: tuple[type[BaseException], ...] | None = None
        #: runs were left recorded in the ledger (the lease looked gone): the outbox has them
        self.left_recorded = False
        self.sent = 0
        self.statements = 0

    def send_batch(self, batch: list[Outgoing], now: datetime) -> None:
        """Publish each run; on a broker error keep it and the rest for retry.

        Whatever interrupts the loop (a broker error, SIGTERM's ``SystemExit``), the
        runs already published are marked sent before it goes on.
        """
        published: list[str] = []
        unsendable: dict[str, str] = {}
        log = logger.isEnabledFor(logging.INFO)
        try:
            with self.app.producer_or_acquire() as producer:
                for index, outgoing in enumerate(batch):
                    if index % LEASE_CHECK_EVERY == 0 and not self.still_leader():
                        logger.warning("This beat lost the lease while sending: %d recorded run(s) left "
                                       "for the next leader.", len(batch) - index)  # fmt: skip
                        self.left_recorded = True
                        return
                    if log:
                        run = outgoing.run
                        slot, run_id = outgoing.slot.isoformat(), outgoing.run_id
                        logger.info(
                            "Sending due task %s (%s) for %s, id %s", run.name, run.task, slot, run_id
                        )
                    self._publish(outgoing, producer, published, unsendable, now)
        except Exception as exc:  # the broker (connection, channel, publish): retry later
            left = batch[len(published) + len(unsendable) :]
            logger.error("Broker error: %s; %d run(s) kept for retry, beat keeps running.", exc, len(left))
            for outgoing in left:
                self.keep(outgoing)
        finally:
            self._write(published, unsendable, now)

    def _publish(
        self,
        outgoing: Outgoing,
        producer: Any,
        published: list[str],
        unsendable: dict[str, str],
        now: datetime,
    ) -> None:
        try:
            self.send_run(outgoing.run, outgoing.run_id, producer)
        except self.broker_errors():
            raise
        except Exception as exc:
            logger.exception("Run %s of %s can never be sent: %s", outgoing.run_id, outgoing.run.name, exc)
            unsendable[outgoing.run_id] = f"cannot be sent: {exc}"
            metrics.active.not_sent(outgoing.run.name, metrics.NOT_SENT_UNSENDABLE)
            return
        self.sent += 1
        published.append(outgoing.run_id)
        metrics.active.sent(outgoing.run.name, outgoing.slot, now)

    def broker_errors(self) -> tuple[type[BaseException], ...]:
        """The errors that mean "the broker", with those of the app's transport."""
        if self._broker_errors is None:
            try:
                connection = self.app.connection_for_write()
                own = (*connection.connection_errors, *connection.channel_errors)
            except Exception:  # an app whose broker URL cannot even be read
                own = ()
            self._broker_errors = (*BROKER_ERRORS, *own)
        return self._broker_errors

    def _write(self, published: list[str], not_sent: dict[str, str], now: datetime) -> None:
        if not self.ledger or not (published or not_sent):
            return
        try:
            self.statements += mark_sent(published, now, self.using)
            mark_not_sent(not_sent, now, self.using)
        except DatabaseError as exc:
            # The runs stay "recorded": the next leader publishes them again with the
            # same task ids, which is the second delivery the README names.
            logger.error("Could not mark %d run(s) sent in the ledger: %s", len(published), exc)

    def keep(self, outgoing: Outgoing, attempts: int = 1) -> None:
        """Queue a run for another try after a back-off that doubles with each attempt."""
        delay = min(2.0 ** (attempts - 1), self.max_backoff)
        metrics.active.broker_retry()
        heapq.heappush(self.pending, PendingRun(self.monotonic() + delay, outgoing, attempts))

    def seconds_until_retry(self) -> float | None:
        """When the next retry is due, or None when nothing waits."""
        return self.pending[0].retry_at - self.monotonic() if self.pending else None

    def retry_due(self, now: datetime) -> None:
        """Try again the runs whose back-off is over; stop at the first broker error.

        Only while this beat leads: once the lease is gone the runs stay recorded in the
        ledger, for the next leader to send.
        """
        if not self.pending or self.pending[0].retry_at > self.monotonic():
            return
        if not self.still_leader():
            logger.warning("This beat lost the lease: %d run(s) waiting for the broker are left "
                           "recorded for the next leader.", len(self.pending))  # fmt: skip
            self.pending.clear()
            self.left_recorded = True
            return
        ready: list[PendingRun] = []
        while self.pending and self.pending[0].retry_at <= self.monotonic():
            ready.append(heapq.heappop(self.pending))
        published: list[str] = []
        not_sent: dict[str, str] = {}
        try:
            for index, pending in enumerate(ready):
                outgoing = pending.outgoing
                expires_at = outgoing.expires_at
                if expires_at is not None and now >= expires_at:
                    logger.error("Run %s of %s expired before the broker came back: not sent.",
                                 outgoing.run_id, outgoing.run.name)  # fmt: skip
                    not_sent[outgoing.run_id] = "expired before the broker took it"
                    metrics.active.not_sent(outgoing.run.name, metrics.NOT_SENT_EXPIRED)
                    continue
                try:
                    self._publish(outgoing, None, published, not_sent, now)
                except Exception as exc:
                    logger.error("Broker still failing for %s: %s", outgoing.run.name, exc)
                    self._keep_all(ready[index:])
                    return
                logger.info("Sent %s (id %s) after %d failed attempt(s).",
                            outgoing.run.name, outgoing.run_id, pending.attempts)  # fmt: skip
        finally:
            self._write(published, not_sent, now)

    def _keep_all(self, runs: Iterable[PendingRun]) -> None:
        for pending in runs:
            self.keep(pending.outgoing, pending.attempts + 1)

    def pending_ids(self) -> set[str]:
        return {pending.outgoing.run_id for pending in self.pending}

    def flush(self, now: datetime) -> None:
        """One last try for every waiting run (beat is stopping); name those that fail."""
        for pending in self.pending:
            pending.retry_at = 0.0
        self.retry_due(now)
        if self.pending:
            logger.warning(
                "%d recorded run(s) could not be sent before shutdown; the next beat to lead sends "
                "them with the same task ids: %s",
                len(self.pending),
                ", ".join(f"{p.outgoing.run.name} ({p.outgoing.run_id})" for p in self.pending),
            )
            self.pending.clear()
