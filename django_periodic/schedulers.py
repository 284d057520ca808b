"""``DatabaseScheduler``: Celery beat reading its schedule from the database.

Each tick: look at the change counter when the poll interval has passed (one
single-row read), apply only the rows that changed, take every run that is due
from a heap, record them in one batched statement, then send them. Database and
broker errors are logged and retried with back-off; they never end beat.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery.beat import Scheduler
from django.db import Error as DatabaseError
from django.db import connections

from .beat import monitor, outbox, overlap
from .beat.code_schedules import default_entries, sync_code_schedule
from .beat.entries import ModelEntry, ScheduleView
from .beat.leadership import Lease, LeaseChange
from .beat.legacy import *  # noqa: F403 - django-celery-beat's module names (Finalize, ADD_ENTRY_ERROR ...)
from .beat.legacy import logger
from .beat.loading import COLUMNS, Loader, TaskNames, apply_changes, pages
from .beat.plans import PlanQueue, TaskPlan
from .beat.publish import run_task_id, send
from .beat.recording import LeaseLostError, record_batch, set_load_errors
from .beat.retention import Retention
from .beat.runs import Run, read_runs
from .beat.sending import Outgoing, RunSender
from .conf import app_settings, configured_clock
from .models import PeriodicTask, PeriodicTaskDeletion, PeriodicTasks
from .models.querysets import BATCH

__all__ = ["DEFAULT_MAX_INTERVAL", "SCHEDULE_SYNC_MAX_INTERVAL", "DatabaseScheduler", "ModelEntry"]

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
        #: when each loaded task runs next
        self.plans = PlanQueue()
        self._version: int | None = None
        self._next_poll = 0.0
        self._next_reconcile = 0.0
        self._backoff = 0.0
        app = kwargs["app"] if "app" in kwargs else args[0]
        #: whether runs are written to the run ledger (the RUN_LEDGER setting)
        self.ledger = bool(app_settings.RUN_LEDGER)
        self.sender = RunSender(
            app,
            self.send_run,
            float(app_settings.MAX_BACKOFF),
            ledger=self.ledger,
            still_leader=self._still_leader,
        )
        self.retention = Retention(self.using)
        self.task_names = TaskNames(app)
        #: runs recorded but never marked sent may wait in the ledger (at start, after a takeover)
        self._outbox_pending = self.ledger
        self._closed = self._ticking = False
        self.monitor = monitor.Monitor(self.lease.name)  # heartbeat file, metrics (may refuse to start)
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
        except Exception:  # never the end of beat: the first tick reads the schedule again
            logger.exception("Unexpected error while reading the schedule at start; beat tries again.")
            self._version = None

    def _follow_lease(self) -> None:
        change = self.lease.maintain()
        if change is LeaseChange.ACQUIRED:
            # Run state comes from the database, never from what this process saw before.
            self._forget()
            self.install_default_entries(None)
            self.update_from_dict(self.app.conf.beat_schedule)
        elif change is LeaseChange.LOST or (not self.lease.is_leader and self.plans):
            self._forget()

    def _still_leader(self) -> bool:
        """Renew the lease if it is time (a long batch must not outlive it); say whether we lead."""
        self.lease.maintain()
        return self.lease.is_leader

    def _forget(self) -> None:
        # Runs waiting for the broker stay "recorded" in the ledger: whichever beat leads
        # next publishes them from there (see beat.outbox).
        self.plans.clear()
        self.sender.pending.clear()
        self._version = None
        self._outbox_pending = self.ledger

    def install_default_entries(self, data: Any) -> None:
        """Add Celery's ``celery.backend_cleanup`` (daily 04:00) when results expire."""
        if entries := default_entries(self.app):
            self.update_from_dict(entries, disable_missing=False)

    def update_from_dict(self, mapping: dict[str, Any] | None, disable_missing: bool = True) -> None:
        """Store schedules defined in code (see :mod:`.codeschedule` for the rule)."""
        keep = {"celery.backend_cleanup"}
        if not disable_missing:
            keep |= set(PeriodicTask.objects.filter(defined_in_code=True).values_list("name", flat=True))
        counts = sync_code_schedule(dict(mapping or {}), self.app, keep=keep)
        if any(counts[k] for k in ("created", "updated", "disabled", "failed")):
            logger.info("beat_schedule stored: %s", ", ".join(f"{v} {k}" for k, v in counts.items()))

    @property
    def schedule(self) -> ScheduleView:
        """The loaded tasks as Celery entries by name, each read from the database when asked.

        For code written against Celery's API: beat itself keeps only timing in memory
        (see :mod:`.beat.plans`).
        """
        return ScheduleView(self)

    @property
    def loaded_version(self) -> int | None:
        """The change version this scheduler's view of the tasks is up to date with."""
        return self._version

    def schedule_changed(self) -> bool:
        """Whether the change counter moved since this scheduler last read it."""
        return PeriodicTasks.state(self.using).version != self._version

    def enabled_models_qs(self) -> Any:
        """The rows beat schedules (override to narrow them, as in django-celery-beat)."""
        return self.Model.objects.filter(enabled=True)

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
        # Celery prints this banner before the first tick: say only what stays true.
        db = connections[self.using].settings_dict
        return (
            f"    . database -> {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}\n"
            f"    . poll -> every {self.poll_interval:g}s\n"
            f"    . lease -> {self.lease.describe(len(self.plans))}"
        )

    # -- the loop ----------------------------------------------------------------

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Apply changes, send what is due; return the seconds until the next tick."""
        self._ticking = True
        try:
            return self.monitor.ticked(self, self._tick())
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
            if self.sender.left_recorded:  # runs left recorded when the lease looked gone: the
                self._outbox_pending, self.sender.left_recorded = self.ledger, False  # outbox sends them
            if self._outbox_pending:
                self._outbox_pending = outbox.recover(self.sender, self.Model, now, self.using) >= BATCH
            due = self.plans.pop_due(now)
            if due:
                self._send_due(due, now)
            elif self.ledger:
                self.retention.maybe_prune(now, self.plans.next_due_at())
            self._backoff = 0.0
        except LeaseLostError as exc:
            logger.warning("Runs not recorded: %s. Standing by.", exc)
            self.lease.epoch = None
            self._forget()
            return self.lease.seconds_until_attempt()
        except DatabaseError as exc:
            return self._database_failed("ticking", exc)
        except Exception:  # a bug, or a row no guard knew: never the end of beat
            logger.exception("Unexpected error while ticking; beat keeps running and tries again.")
            return self._backoff_seconds()
        try:
            self.sender.retry_due(self.clock())  # renews the lease when due: a database call
        except DatabaseError as exc:
            return self._database_failed("retrying runs for the broker", exc)
        return self._sleep_time(self.clock())

    def _sleep_time(self, now: datetime) -> float:
        mono = time.monotonic()
        waits = [
            float(self.max_interval),
            max(self._next_poll - mono, 0.0),
            max(self.lease.valid_until - mono, 0.0),
        ]
        if self.poll_interval >= self.lease.renew_every:
            waits.append(self.lease.seconds_until_attempt())
        # else the lease is renewed on the first poll's wake-up after its time (at most one
        # poll interval late, well inside the lease): no wake-up of its own
        next_due = self.plans.next_due_at()
        if next_due is not None:
            waits.append((next_due - now).total_seconds())
        retry = self.sender.seconds_until_retry()
        if retry is not None:
            waits.append(retry)
        return max(min(waits), 0.0)

    def _backoff_seconds(self) -> float:
        self._backoff = min(max(self._backoff * 2, 1.0), float(app_settings.MAX_BACKOFF))
        return self._backoff

    def _database_failed(self, doing: str, exc: Exception) -> float:
        backoff = self._backoff_seconds()
        logger.error(
            "Database error while %s: %s; beat keeps running and retries in %.0fs.", doing, exc, backoff
        )
        _close_connections()
        return backoff

    # -- loading -----------------------------------------------------------------

    def _load_all(self) -> None:
        """Read every enabled task (at start, and as a rare safety reconcile)."""
        state = PeriodicTasks.state(self.using)
        loader = self._loader()
        rows = self.enabled_models_qs().prefetch_related(None).values_list(*COLUMNS)
        self.plans.load(loader.plans(pages(rows)))
        loader.write_outcome()
        self.task_names.check(self.enabled_models_qs().values_list("task", flat=True).distinct())
        self._version = state.version
        self.stats["full_loads"] += 1
        self._outbox_pending = self.ledger
        mono = time.monotonic()
        self._next_poll = mono + self.poll_interval
        self._next_reconcile = mono + float(app_settings.FULL_RECONCILE_INTERVAL)
        PeriodicTaskDeletion.prune(timedelta(days=app_settings.DELETION_RETENTION_DAYS), self.using)
        logger.info("Loaded %d periodic task(s) at version %d.", len(self.plans), state.version)

    def _loader(self) -> Loader:
        return Loader(self.Model, self.clock(), self.app.conf.beat_cron_starting_deadline, self.using)

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
        # a subclass may schedule a subset: then only the changed rows that are in it
        subset = (
            self.enabled_models_qs()
            if type(self).enabled_models_qs is not DatabaseScheduler.enabled_models_qs
            else None
        )
        changed, deleted = apply_changes(self.plans, self._loader(), held, subset, self.task_names)
        self._version = state.version
        self.stats["delta_rows"] += changed + deleted
        logger.info("Applied %d changed and %d deleted task(s) (version %d -> %d).",
                    changed, deleted, held, state.version)  # fmt: skip

    # -- sending -----------------------------------------------------------------

    def _send_due(self, due: list[tuple[TaskPlan, datetime]], now: datetime) -> None:
        """Send the runs that fell due: apply the missed-run policy, read their messages,
        record them with their ledger rows (fenced), publish them, and plan each task's next run."""
        sending, missed = self.plans.skip_missed(due, now)
        if not sending and not (missed and self.ledger):
            return
        try:
            runs = self._read_runs([plan.model_id for plan, _slot, _following in sending])
            sending = [item for item in sending if item[0].model_id in runs]
            batch = [
                Outgoing(runs[plan.model_id], slot, run_task_id(plan.model_id, slot))
                for plan, slot, _f in sending
            ]
            overlapping = overlap.blocked(batch, now, self.using) if self.ledger else set()
            statements, duplicates = record_batch(
                self.Model, sending, batch, overlapping, missed, now,
                using=self.using, lease=self.lease, ledger=self.ledger, late_after=float(self.max_interval),
            )  # fmt: skip
        except Exception:
            for plan, _slot, _following in sending:  # still due: they go out once the tick succeeds
                if self.plans.get(plan.model_id) is plan:
                    self.plans.push(plan)
            raise
        self.stats["statements"] += statements
        self.plans.advance(sending, now)
        if self.plans.errors:
            set_load_errors(self.Model, self.plans.take_errors(), self.using)
        if duplicates:
            logger.error("%d run(s) were in the run ledger already and are not sent again: %s",
                         len(duplicates), ", ".join(sorted(duplicates)[:20]))  # fmt: skip
        to_send = [item for item in batch if item.run_id not in overlapping and item.run_id not in duplicates]
        if self.lease.is_leader:
            self.sender.send_batch(to_send, now)
        elif to_send:
            logger.warning(
                "The lease may have run out: %d recorded run(s) left for the next leader.", len(to_send)
            )
            self.sender.left_recorded = True

    def _read_runs(self, task_ids: list[Any]) -> dict[Any, Run]:
        """The message of each task about to run, read from its row (one query per batch).

        A task deleted or disabled since the last poll is not in the result, nor is
        one whose message fields are unusable: that one gets a ``load_error`` and
        leaves the schedule until its row is edited.
        """
        runs, errors = read_runs(self.Model, task_ids, self.using)
        for task_id in task_ids:
            if task_id not in runs:
                self.plans.drop(task_id)
        if errors:
            set_load_errors(self.Model, errors, self.using)
        return runs

    def send_run(self, run: Run, run_id: str, producer: Any) -> Any:
        """Publish one run (override to send elsewhere, or to count in a benchmark)."""
        return send(self.app, run.task, run.args, run.kwargs, run.options, task_id=run_id, producer=producer)


def _close_connections() -> None:
    """Close beat's connections; the next query opens fresh ones."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue  # not beat's own transaction (a test's, or a caller's): leave it
        with contextlib.suppress(DatabaseError):
            conn.close()
