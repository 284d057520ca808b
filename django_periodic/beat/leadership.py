"""Leadership: one beat sends, the others stand by, judged by the database clock.

The lease is a row (:class:`~django_periodic.models.BeatLease`). Taking it over,
renewing it and checking it are single conditional statements that compare with
the database's own ``NOW()``, so the hosts' clocks never decide. Every takeover
raises the epoch. The statements that record runs carry :meth:`Lease.fence`, so
a leader that was paused past its lease (SIGSTOP, a long GC, a VM pause) records,
and therefore sends, nothing.

A leader also stops sending on its own once its lease may have run out by its
monotonic clock, measured from *before* the last successful renewal and shortened
by a margin for clock drift, so it never relies on the fence alone.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from enum import Enum
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Now
from django.db.models.sql import UpdateQuery

from ..models import BeatLease

logger = logging.getLogger("django_periodic.beat")


class LeaseChange(Enum):
    """What a call to :meth:`Lease.maintain` changed."""

    NONE = "none"
    ACQUIRED = "acquired"
    LOST = "lost"


class Lease:
    """This process's view of the lease named ``name``."""

    def __init__(
        self,
        name: str = "default",
        *,
        seconds: float = 6.0,
        renew_every: float = 2.0,
        drift_margin: float = 0.5,
        using: str = "default",
        monotonic: Callable[[], float] = time.monotonic,
        db_now: Callable[[], Any] = Now,
    ):
        if renew_every >= seconds - drift_margin:
            raise ValueError("renew_every must be shorter than the lease minus the drift margin")
        self.name = name
        self.seconds = float(seconds)
        self.renew_every = float(renew_every)
        self.drift_margin = float(drift_margin)
        self.using = using
        self.monotonic = monotonic
        #: the database clock as an SQL expression; tests inject a fixed instant
        self.db_now = db_now
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.token = uuid.uuid4().hex
        self.epoch: int | None = None
        self.valid_until = 0.0
        self._next_attempt = 0.0
        #: the renewal statement compiled for the epoch held: (epoch, sql, params)
        self._renewal: tuple[int | None, str, Any] | None = None

    # -- state -------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """Whether this process may send now (by its own clock; the fence checks again)."""
        return self.epoch is not None and self.monotonic() < self.valid_until

    @property
    def tried(self) -> bool:
        """Whether this process has tried to take the lease yet."""
        return self._next_attempt > 0.0

    def describe(self, tasks_loaded: int) -> str:
        """The lease in words for beat's start banner, true whenever it is printed."""
        if self.is_leader:
            held = f"held by this beat, {tasks_loaded} task(s) loaded"
        elif self.tried:
            held = "held by another beat (this one stands by)"
        else:
            held = "not taken yet (the log says which beat takes it)"
        return f"{self.name!r}, {self.seconds:g}s: {held}"

    def seconds_until_attempt(self) -> float:
        """How long until :meth:`maintain` has something to do."""
        return max(self._next_attempt - self.monotonic(), 0.0)

    def _mine(self) -> dict[str, Any]:
        """The lease row as this process holds it (matches nothing when it holds none)."""
        return {"name": self.name, "token": self.token, "epoch": -1 if self.epoch is None else self.epoch}

    def fence(self) -> Exists:
        """A condition true only while this process holds the lease at its epoch."""
        return Exists(
            BeatLease.objects.using(self.using).filter(**self._mine(), expires_at__gt=self.db_now())
        )

    def lock(self) -> bool:
        """Inside a transaction: lock the lease row if this process holds it; say whether it does.

        While the lock is held no other beat can commit a takeover, so what this
        transaction records stands.
        """
        held = (
            BeatLease.objects.using(self.using)
            .select_for_update()
            .filter(**self._mine(), expires_at__gt=self.db_now())
            .values_list("pk", flat=True)
        )
        return bool(list(held))

    # -- the statements ----------------------------------------------------------

    def _expiry(self) -> ExpressionWrapper:
        return ExpressionWrapper(
            self.db_now() + Value(timedelta(seconds=self.seconds)), output_field=DateTimeField()
        )

    def maintain(self) -> LeaseChange:
        """Renew (leader) or try to take over (standby) when it is time; say what changed."""
        now = self.monotonic()
        was_leader = self.epoch is not None
        if now < self._next_attempt:
            if was_leader and now >= self.valid_until:
                return self._lose("its lease ran out before it could renew")
            return LeaseChange.NONE
        self._next_attempt = now + self.renew_every
        started = now
        if was_leader:
            if self._renew():
                self.valid_until = started + self.seconds - self.drift_margin
                return LeaseChange.NONE
            return self._lose("another beat took the lease over")
        if self._acquire():
            self.valid_until = started + self.seconds - self.drift_margin
            logger.info(
                "This beat (%s) is now the leader, epoch %d; it sends due tasks.", self.holder, self.epoch
            )
            return LeaseChange.ACQUIRED
        if now >= self.valid_until and self.epoch is not None:
            return self._lose("its lease ran out")
        return LeaseChange.NONE

    def _lose(self, why: str) -> LeaseChange:
        logger.warning("This beat (%s) is standby now: %s (epoch %s).", self.holder, why, self.epoch)
        self.epoch = None
        self.valid_until = 0.0
        return LeaseChange.LOST

    def _acquire(self) -> bool:
        rows = BeatLease.objects.using(self.using).filter(name=self.name)
        with transaction.atomic(using=self.using):
            taken = rows.filter(Q(expires_at__isnull=True) | Q(expires_at__lte=self.db_now())).update(
                holder=self.holder,
                token=self.token,
                epoch=F("epoch") + 1,
                acquired_at=self.db_now(),
                renewed_at=self.db_now(),
                expires_at=self._expiry(),
            )
            if not taken:
                if rows.exists():
                    return False
                try:
                    with transaction.atomic(using=self.using):
                        BeatLease.objects.using(self.using).create(name=self.name)
                except IntegrityError:
                    return False  # another beat created it first; try again next round
                return self._acquire()
            self.epoch = rows.filter(token=self.token).values_list("epoch", flat=True).get()
        return True

    def _renew(self) -> bool:
        # The leader's most frequent statement: compiled once per epoch, then sent as it
        # is (unless a test injected a clock whose value is a parameter of the statement).
        if self._renewal is None or self._renewal[0] != self.epoch or self.db_now is not Now:
            query: Any = BeatLease.objects.using(self.using).filter(**self._mine()).query.chain(UpdateQuery)
            query.add_update_values({"renewed_at": self.db_now(), "expires_at": self._expiry()})
            sql, params = query.get_compiler(self.using).as_sql()
            self._renewal = (self.epoch, sql, params)
        _epoch, sql, params = self._renewal
        with connections[self.using].cursor() as cursor:
            cursor.execute(sql, params)
            return bool(cursor.rowcount)

    def release(self) -> None:
        """Give the lease up at shutdown, so a standby takes over at its next attempt."""
        if self.epoch is None:
            return
        BeatLease.objects.using(self.using).filter(**self._mine()).update(expires_at=self.db_now())
        logger.info("This beat (%s) released the lease (epoch %d).", self.holder, self.epoch)
        self.epoch = None
        self.valid_until = 0.0
