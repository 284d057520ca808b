"""The run ledger: one row per run (a task sent at one scheduled time) and its outcome.

Beat writes a run's row in the transaction that records the task's run state, before it
publishes the message (the row is its outbox entry); it marks the row *sent* once the
broker took the message. Workers record *started*, *succeeded*, *failed* and *retried*.
A row left *recorded* (beat was stopped, killed, lost its lease, or the broker was down)
is published by the next leader with the same task id, or marked *not sent* with the
reason when it can no longer go out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .dbtime import to_db
from .querysets import BATCH


class RunStatus(models.TextChoices):
    """Where a run is: beat's states first, then the workers'."""

    RECORDED = "recorded", _("Recorded")
    SENT = "sent", _("Sent")
    STARTED = "started", _("Started")
    RETRIED = "retried", _("Retried")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    NOT_SENT = "not_sent", _("Not sent")
    LOST = "lost", _("No outcome")


#: A run in one of these states may still be executing (what the overlap policy looks at).
ACTIVE_STATES = (RunStatus.RECORDED, RunStatus.SENT, RunStatus.STARTED, RunStatus.RETRIED)
#: A run in one of these states is over.
FINAL_STATES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.NOT_SENT, RunStatus.LOST)


class Trigger(models.TextChoices):
    """Why a run happened."""

    SCHEDULE = "schedule", _("Schedule")
    CATCH_UP = "catch_up", _("Catch-up")
    RUN_NOW = "run_now", _("Run now")


class RunQuerySet(models.QuerySet):
    """Runs: found by their Celery task id when loaded with natural keys."""

    def get_by_natural_key(self, celery_task_id: str) -> Any:
        """The run sent with this task id (unique: derived from the task and the scheduled time)."""
        return self.get(celery_task_id=celery_task_id)


class PeriodicTaskRun(models.Model):
    """One run of a periodic task: its identity (task, scheduled time), its task id, its fate."""

    task = models.ForeignKey(
        "django_periodic.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name=_("Periodic task"),
        db_index=False,  # the (task, scheduled_at) index serves lookups by task
    )
    task_name = models.CharField(
        _("Task name"),
        max_length=200,
        help_text=_("The periodic task's name when it ran; kept when the task is deleted."),
    )
    scheduled_at = models.DateTimeField(_("Scheduled for"), help_text=_("The run's identity with its task."))
    celery_task_id = models.CharField(
        _("Celery task id"),
        max_length=36,
        help_text=_("Derived from the task and the scheduled time for scheduled runs."),
    )
    trigger = models.CharField(_("Trigger"), max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    state = models.CharField(_("State"), max_length=16, choices=RunStatus.choices, default=RunStatus.RECORDED)
    reason = models.CharField(
        _("Reason"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("Why a run was skipped or not sent, or the error it failed with."),
    )
    recorded_at = models.DateTimeField(_("Recorded at"))
    sent_at = models.DateTimeField(_("Sent at"), null=True, blank=True)
    started_at = models.DateTimeField(_("Started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("Finished at"), null=True, blank=True)
    worker = models.CharField(_("Worker"), max_length=255, blank=True, default="")
    retries = models.PositiveIntegerField(_("Retries"), default=0)

    objects = RunQuerySet.as_manager()

    class Meta:
        verbose_name = _("periodic task run")
        verbose_name_plural = _("periodic task runs")
        ordering = ["-scheduled_at", "-id"]
        # Declared here rather than with unique=True / db_index=True, so PostgreSQL gets no
        # extra LIKE-pattern indexes: each index costs every insert of a burst.
        constraints = [
            models.UniqueConstraint(fields=["celery_task_id"], name="django_periodic_run_task_id"),
        ]
        indexes = [
            models.Index(fields=["task", "-scheduled_at"], name="django_periodic_run_task"),
            models.Index(fields=["-scheduled_at"], name="django_periodic_run_when"),
            models.Index(fields=["state"], name="django_periodic_run_state"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} @ {self.scheduled_at:%Y-%m-%d %H:%M:%S} ({self.state})"

    def natural_key(self) -> tuple[str]:
        """A run is known by its task id, so ledgers from two databases can be merged."""
        return (self.celery_task_id,)

    @property
    def duration(self) -> timedelta | None:
        """How long the task ran (started to finished), when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


def prune_runs(
    now: datetime,
    keep_per_task: int | None,
    keep_days: float | None,
    *,
    using: str = "default",
    limit: int = BATCH,
    after_task: Any = None,
    tasks_per_pass: int = 50,
) -> tuple[int, Any]:
    """Delete runs past the retention rules, in bounded batches; never rows still unfinished.

    Deletes at most ``limit`` rows older than ``keep_days``, then, for up to
    ``tasks_per_pass`` tasks after ``after_task`` (a task id), the runs beyond each one's
    newest ``keep_per_task``. Returns (rows deleted, the task id to go on after next time,
    None when the pass reached the last task).
    """
    runs = PeriodicTaskRun._base_manager.using(using).filter(state__in=FINAL_STATES)
    deleted = 0
    if keep_days is not None:
        cutoff = now - timedelta(days=keep_days)
        old = list(runs.filter(scheduled_at__lt=to_db(cutoff, using)).values_list("pk", flat=True)[:limit])
        deleted += runs.filter(pk__in=old).delete()[0] if old else 0
    if keep_per_task is None:
        return deleted, None
    tasks = runs.exclude(task=None).order_by("task_id").values_list("task_id", flat=True).distinct()
    if after_task is not None:
        tasks = tasks.filter(task_id__gt=after_task)
    batch = list(tasks[:tasks_per_pass])
    for task_id in batch:
        if deleted >= limit:
            return deleted, task_id
        newest = runs.filter(task_id=task_id).order_by("-scheduled_at", "-id")
        boundary = newest.values_list("scheduled_at", "id")[keep_per_task : keep_per_task + 1]
        if boundary:
            when, pk = boundary[0]
            older = runs.filter(task_id=task_id).filter(
                Q(scheduled_at__lt=when) | Q(scheduled_at=when, id__lte=pk)
            )
            ids = list(older.values_list("pk", flat=True)[: limit - deleted])
            deleted += runs.filter(pk__in=ids).delete()[0]
    return deleted, (batch[-1] if len(batch) == tasks_per_pass else None)
