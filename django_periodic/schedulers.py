"""``DatabaseScheduler``: Celery beat reading its schedule from the database.

Each tick: look at the change counter when the poll interval has passed (one
single-row read), apply only the rows that changed, take every run that is due
from a heap, record them in one batched statement, then send them. Database and
broker errors are logged and retried with back-off; they never end beat.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from celery import schedules as celery_schedules
from celery.beat import Scheduler
from django.db import Error as DatabaseError
from django.db import connections

from .changes import PeriodicTaskDeletion, PeriodicTasks
from .codeschedule import sync_code_schedule
from .conf import app_settings
from .dispatch import send
from .entries import EntryError, ModelEntry
from .leadership import Change, Lease
from .models import PeriodicTask
from .runstate import LeaseLostError, disable, record_runs, set_load_errors
from .sending import RunSender
from .utils import configured_clock

__all__ = ["DEFAULT_MAX_INTERVAL", "SCHEDULE_SYNC_MAX_INTERVAL", "DatabaseScheduler", "ModelEntry"]

logger = logging.getLogger("django_periodic.beat")

DEFAULT_MAX_INTERVAL = 5  # seconds; beat never sleeps longer than this
SCHEDULE_SYNC_MAX_INTERVAL = 300  # kept for django-celery-beat compatibility


class DatabaseScheduler(Scheduler):
    """Celery beat scheduler backed by the ``django_periodic`` tables."""

    Entry = ModelEntry
    Model = PeriodicTask
    Changes = PeriodicTasks

    def __init__(
        self,
        *args: Any,
        clock: Callable[[], datetime] | None = None,
        poll_interval: float | None = None,
        lease: Lease | None = None,
        **kwargs: Any,
    ) -> None:
        self.clock = clock or configured_clock()
        self.lease = lease or Lease(
            app_settings.LEASE_NAME,
            seconds=app_settings.LEASE_SECONDS,
            renew_every=app_settings.LEASE_RENEW_INTERVAL,
            drift_margin=app_settings.LEASE_DRIFT_MARGIN,
        )
        self.poll_interval = float(poll_interval if poll_interval is not None else app_settings.POLL_INTERVAL)
        self.using = "default"
        self._by_id: dict[Any, ModelEntry] = {}
        self._by_name: dict[str, ModelEntry] = {}
        #: (due at, tie-breaker, entry, slot): due at is the slot plus the task's jitter
        self._queue: list[tuple[datetime, int, ModelEntry, datetime]] = []
        self._seq = itertools.count()
        self._version: int | None = None
        self._next_poll = 0.0
        self._next_reconcile = 0.0
        self._backoff = 0.0
        app = kwargs["app"] if "app" in kwargs else args[0]
        self.sender = RunSender(app, self.send_run, float(app_settings.MAX_BACKOFF))
        self._closed = False
        self._ticking = False
        self.stats = {"statements": 0, "polls": 0, "delta_rows": 0, "full_loads": 0}
        super().__init__(*args, **kwargs)
        if not kwargs.get("max_interval") and not self.app.conf.beat_max_loop_interval:
            self.max_interval = DEFAULT_MAX_INTERVAL

    # -- Celery's API ------------------------------------------------------------

    def setup_schedule(self) -> None:
        """Try to become the leader; a leader stores ``beat_schedule`` and reads the schedule."""
        try:
            self._follow_lease()
            if self.lease.is_leader:
                self._load_all()
            else:
                logger.info("This beat (%s) is standby: another beat holds the lease.", self.lease.holder)
        except DatabaseError as exc:
            self._database_failed("reading the schedule at start", exc)

    def _follow_lease(self) -> None:
        change = self.lease.maintain()
        if change is Change.ACQUIRED:
            # Run state comes from the database, never from what this process saw before.
            self._forget()
            self.install_default_entries(None)
            self.update_from_dict(self.app.conf.beat_schedule)
        elif change is Change.LOST or (not self.lease.is_leader and self._by_id):
            self._forget()

    def _forget(self) -> None:
        self._by_id.clear()
        self._by_name.clear()
        self._queue.clear()
        self.sender.pending.clear()
        self._version = None

    def install_default_entries(self, data: Any) -> None:
        """Add Celery's ``celery.backend_cleanup`` (daily 04:00) when results expire."""
        if self.app.conf.result_expires and not self.app.backend.supports_autoexpire:
            self.update_from_dict(
                {
                    "celery.backend_cleanup": {
                        "task": "celery.backend_cleanup",
                        "schedule": celery_schedules.crontab("0", "4", "*"),
                        "options": {"expires": 12 * 3600},
                    },
                },
                disable_missing=False,
            )

    def update_from_dict(self, mapping: dict[str, Any] | None, disable_missing: bool = True) -> None:
        """Store schedules defined in code (see :mod:`.codeschedule` for the rule)."""
        keep = {"celery.backend_cleanup"}
        if not disable_missing:
            keep |= set(PeriodicTask.objects.filter(defined_in_code=True).values_list("name", flat=True))
        counts = sync_code_schedule(dict(mapping or {}), self.app, keep=keep)
        if any(counts[k] for k in ("created", "updated", "disabled", "failed")):
            logger.info("beat_schedule stored: %s", ", ".join(f"{v} {k}" for k, v in counts.items()))

    @property
    def schedule(self) -> dict[str, ModelEntry]:
        return self._by_name

    def schedule_changed(self) -> bool:
        """Whether the change counter moved since this scheduler last read it."""
        return PeriodicTasks.state(self.using).version != self._version

    def enabled_models_qs(self) -> Any:
        return self.Model.objects.enabled()

    def enabled_models(self) -> list[Any]:
        return list(self.enabled_models_qs())

    def sync(self) -> None:
        """Nothing to do: run state is written as runs are sent (see :meth:`close`)."""

    def should_sync(self) -> bool:
        """Never: Celery's periodic sync has nothing to write here."""
        return False

    def close(self) -> None:
        if self._closed:
            return
        if self._ticking:
            # Celery's SIGTERM handler calls this from inside a signal handler; a tick
            # may be half-way through a query on the same connection. Leave it: the
            # SystemExit that follows unwinds the tick, and Celery calls close() again.
            return
        self._closed = True
        # Runs the broker refused get one last try; those that still fail are named in
        # the log, since no other beat will send them.
        self.sender.flush(self.clock())
        with contextlib.suppress(DatabaseError):
            self.lease.release()
        _close_connections()

    @property
    def info(self) -> str:
        db = connections[self.using].settings_dict
        return (
            f"    . database -> {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}\n"
            f"    . poll -> every {self.poll_interval:g}s, {len(self._by_id)} task(s) loaded\n"
            f"    . lease -> {self.lease.name!r}, {self.lease.seconds:g}s, held by "
            f"{'this beat' if self.lease.is_leader else 'another beat (standby)'}"
        )

    # -- the loop ----------------------------------------------------------------

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Apply changes, send what is due; return the seconds until the next tick."""
        self._ticking = True
        try:
            return self._tick()
        finally:
            self._ticking = False

    def _tick(self) -> float:
        try:
            self._follow_lease()
            if not self.lease.is_leader:
                return min(self.lease.seconds_until_attempt(), float(self.max_interval))
            mono = time.monotonic()
            if self._version is None or mono >= self._next_reconcile:
                self._load_all()
            elif mono >= self._next_poll:
                self._poll()
            now = self.clock()
            due = self._pop_due(now)
            if due:
                self._dispatch(due, now)
            self._backoff = 0.0
        except LeaseLostError as exc:
            logger.warning("Runs not recorded: %s. Standing by.", exc)
            self.lease.epoch = None
            self._forget()
            return self.lease.seconds_until_attempt()
        except DatabaseError as exc:
            return self._database_failed("ticking", exc)
        self.sender.retry_due(self.clock())
        return self._sleep_time(self.clock())

    def _sleep_time(self, now: datetime) -> float:
        waits = [
            float(self.max_interval),
            max(self._next_poll - time.monotonic(), 0.0),
            self.lease.seconds_until_attempt(),
            max(self.lease.valid_until - time.monotonic(), 0.0),
        ]
        if self._queue:
            waits.append((self._queue[0][0] - now).total_seconds())
        retry = self.sender.seconds_until_retry()
        if retry is not None:
            waits.append(retry)
        return max(min(waits), 0.0)

    def _database_failed(self, doing: str, exc: Exception) -> float:
        self._backoff = min(max(self._backoff * 2, 1.0), float(app_settings.MAX_BACKOFF))
        logger.error(
            "Database error while %s: %s; beat keeps running and retries in %.0fs.", doing, exc, self._backoff
        )
        _close_connections()
        return self._backoff

    # -- loading -----------------------------------------------------------------

    def _load_all(self) -> None:
        """Read every enabled task (at start, and as a rare safety reconcile)."""
        state = PeriodicTasks.state(self.using)
        now = self.clock()
        self._by_id.clear()
        self._by_name.clear()
        self._queue.clear()
        self._apply_rows(self.enabled_models(), now, full=True)
        self._version = state.version
        self.stats["full_loads"] += 1
        mono = time.monotonic()
        self._next_poll = mono + self.poll_interval
        self._next_reconcile = mono + float(app_settings.FULL_RECONCILE_INTERVAL)
        PeriodicTaskDeletion.prune(timedelta(days=app_settings.DELETION_RETENTION_DAYS), self.using)
        logger.info("Loaded %d periodic task(s) at version %d.", len(self._by_id), state.version)

    def _poll(self) -> None:
        """One cheap read; on a move, read only what changed since our version."""
        self.stats["polls"] += 1
        self._next_poll = time.monotonic() + self.poll_interval
        state = PeriodicTasks.state(self.using)
        held = self._version or 0
        if state.version == held:
            return
        if state.reset_version > held:
            logger.info("Full re-read requested (version %d).", state.reset_version)
            self._load_all()
            return
        changed = list(
            self.Model.objects.filter(version__gt=held).select_related(
                "interval", "crontab", "solar", "clocked"
            )
        )
        deleted = list(
            PeriodicTaskDeletion.objects.using(self.using)
            .filter(version__gt=held)
            .values_list("task_id", flat=True)
        )
        for task_id in deleted:
            self._drop(task_id)
        self._apply_rows(changed, self.clock(), full=False)
        self._version = state.version
        self.stats["delta_rows"] += len(changed) + len(deleted)
        logger.info(
            "Applied %d changed and %d deleted task(s) (version %d -> %d).",
            len(changed),
            len(deleted),
            held,
            state.version,
        )

    def _apply_rows(self, rows: Iterable[Any], now: datetime, full: bool) -> None:
        errors: dict[Any, str] = {}
        expired: list[Any] = []
        deadline = self.app.conf.beat_cron_starting_deadline
        for row in rows:
            if not full:
                self._drop(row.pk)
            if not row.enabled:
                continue
            try:
                entry = self.Entry(row, app=self.app, starting_deadline=deadline)
                planned = entry.plan(now)
            except (EntryError, ValueError, TypeError, ImportError) as exc:
                reason = f"{exc}"
                logger.error(
                    "Task %r (%s) cannot be scheduled and is skipped: %s", row.name, row.task, reason
                )
                errors[row.pk] = reason
                continue
            if row.load_error:
                errors[row.pk] = ""
            if planned is None:
                if row.expires is not None or row.clocked_id is not None:
                    logger.info("Task %r will not run again (expired or done): disabled it.", row.name)
                    expired.append(row.pk)
                continue
            self._add(entry, planned)
        if errors:
            set_load_errors(self.Model, errors, self.using)
        if expired:
            disable(self.Model, expired, self.using)

    def _add(self, entry: ModelEntry, slot: datetime) -> None:
        self._by_id[entry.model_id] = entry
        self._by_name[entry.name] = entry
        self._push(entry, slot)

    def _push(self, entry: ModelEntry, slot: datetime) -> None:
        heapq.heappush(self._queue, (entry.due_at(slot), next(self._seq), entry, slot))

    def _drop(self, task_id: Any) -> None:
        entry = self._by_id.pop(task_id, None)
        if entry is not None and self._by_name.get(entry.name) is entry:
            del self._by_name[entry.name]
        # its heap item is skipped when it surfaces (lazy removal)

    # -- sending -----------------------------------------------------------------

    def _pop_due(self, now: datetime) -> list[tuple[ModelEntry, datetime]]:
        """Every (entry, slot) due at ``now``; stale heap items are dropped on the way."""
        due = []
        queue = self._queue
        while queue and queue[0][0] <= now:
            _due_at, _seq, entry, slot = heapq.heappop(queue)
            if self._by_id.get(entry.model_id) is entry and entry.next_run_at == slot:
                due.append((entry, slot))
        return due

    def _dispatch(self, due: list[tuple[ModelEntry, datetime]], now: datetime) -> None:
        slots = []
        for entry, slot in due:
            if entry.is_missed(slot, now):
                # the task's policy skips runs this late (beat could not send in time)
                entry.next_run_at = entry.following(slot, now)
                logger.warning(
                    "Run of %s at %s skipped: %.0fs late, past its grace period.",
                    entry.name,
                    slot.isoformat(),
                    (now - slot).total_seconds(),
                )
                if entry.next_run_at is not None:
                    self._push(entry, entry.next_run_at)
            else:
                slots.append((entry, slot))
        if not slots:
            return
        following = [entry.following(slot, now) for entry, slot in slots]
        finished = [entry.model_id for (entry, _), nxt in zip(slots, following, strict=True) if nxt is None]
        try:
            self.stats["statements"] += record_runs(
                self.Model,
                [entry.model_id for entry, _slot in slots],
                finished,
                now,
                self.using,
                lease=self.lease,
            )
        except DatabaseError:
            for entry, slot in slots:  # still due: they go out once the database is back
                self._push(entry, slot)
            raise
        self.sender.send_batch(slots)
        for (entry, _slot), nxt in zip(slots, following, strict=True):
            entry.mark_sent(now, nxt)
            if nxt is None:
                self._drop(entry.model_id)
            else:
                self._push(entry, nxt)

    def send_run(self, entry: ModelEntry, run_id: str, producer: Any) -> Any:
        """Publish one run (override to send elsewhere, or to count in a benchmark)."""
        return send(
            self.app, entry.task, entry.args, entry.kwargs, entry.options, task_id=run_id, producer=producer
        )


def _close_connections() -> None:
    """Close beat's connections; the next query opens fresh ones."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue  # not beat's own transaction (a test's, or a caller's): leave it
        with contextlib.suppress(DatabaseError):
            conn.close()
