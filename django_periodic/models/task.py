"""The periodic task table: what to send, on which schedule, with which options."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import DatabaseError, models, router, transaction
from django.utils.translation import gettext_lazy as _

from ..timing.plans import RunState, upcoming_runs
from .changes import PeriodicTasks
from .dbtime import from_db
from .fields import JSONDictField, JSONListField
from .pausing import PauseRecord
from .policy import MISSED_RUNS_CHOICES as MISSED_RUNS_CHOICES  # re-exported: their old home
from .policy import OVERLAP_ALLOW as OVERLAP_ALLOW
from .policy import OVERLAP_CHOICES as OVERLAP_CHOICES
from .policy import OVERLAP_SKIP as OVERLAP_SKIP
from .policy import RunPolicy
from .querysets import PAUSE_FIELDS, SCHEDULE_FIELDS, PeriodicTaskQuerySet, lock_counter
from .schedules import ClockedSchedule, CrontabSchedule, IntervalSchedule, ScheduleModel, SolarSchedule
from .task_rules import TASK_CONSTRAINTS, fields_to_write, no_row_updated, task_errors


class PeriodicTask(RunPolicy, PauseRecord):
    """A task that beat sends on a schedule: exactly one of the four schedule kinds."""

    name = models.CharField(
        _("Name"),
        max_length=200,
        unique=True,
        help_text=_("Unique. It names the task in the admin, in beat's log and in the run ledger."),
    )
    task = models.CharField(
        _("Celery task"),
        max_length=200,
        help_text=_(
            "The registered name of the Celery task to send, such as proj.tasks.import_contacts. "
            "Tasks that only the workers import can be typed in."
        ),
    )
    interval = models.ForeignKey(
        IntervalSchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("Interval"),
        help_text=_("Run every so many seconds, minutes, hours or days. A task has exactly one schedule."),
    )
    crontab = models.ForeignKey(
        CrontabSchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("Crontab"),
        help_text=_(
            "Run at the times five cron fields match, read in the crontab's time zone. "
            "A task has exactly one schedule."
        ),
    )
    solar = models.ForeignKey(
        SolarSchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("Solar event"),
        help_text=_(
            "Run at sunrise, sunset or another solar event at a place. A task has exactly one schedule."
        ),
    )
    clocked = models.ForeignKey(
        ClockedSchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("Clocked time"),
        help_text=_("Run once, at a set time; the task must be one-off. A task has exactly one schedule."),
    )
    args = JSONListField(
        _("Positional arguments"),
        blank=True,
        default=list,
        help_text=_(
            'A JSON list, passed to the task as its positional arguments: ["https://example.com/feed", 3].'
        ),
    )
    kwargs = JSONDictField(
        _("Keyword arguments"),
        blank=True,
        default=dict,
        help_text=_('A JSON object, passed to the task as its keyword arguments: {"retry": true}.'),
    )
    queue = models.CharField(
        _("Queue"),
        max_length=200,
        null=True,
        blank=True,
        default=None,
        help_text=_(
            "The queue each run is sent to. "
            "Empty: Celery's routing decides (task_routes, then the default queue)."
        ),
    )
    exchange = models.CharField(
        _("Exchange"),
        max_length=200,
        null=True,
        blank=True,
        default=None,
        help_text=_(
            "The broker exchange to publish to, for AMQP routing beyond a queue. Empty: Celery's default."
        ),
    )
    routing_key = models.CharField(
        _("Routing key"),
        max_length=200,
        null=True,
        blank=True,
        default=None,
        help_text=_(
            "The routing key to publish with, for AMQP routing beyond a queue. Empty: Celery's default."
        ),
    )
    headers = JSONDictField(
        _("Message headers"),
        blank=True,
        default=dict,
        help_text=_("A JSON object of extra message headers. Beat adds periodic_task_name itself."),
    )
    options = JSONDictField(
        _("More options"),
        blank=True,
        default=dict,
        help_text=_(
            "Any other apply_async option, as a JSON object passed on unchanged: "
            '{"countdown": 10, "time_limit": 60}.'
        ),
    )
    priority = models.PositiveIntegerField(
        _("Priority"),
        default=None,
        validators=[MaxValueValidator(255)],
        blank=True,
        null=True,
        help_text=_(
            "0 to 255, where the broker supports priorities: on RabbitMQ a higher number goes first, "
            "on Redis a lower one. Empty: the task's default."
        ),
    )
    expires = models.DateTimeField(
        _("Expires"),
        blank=True,
        null=True,
        help_text=_("No run after this time; beat then disables the task. Empty: the runs go on."),
    )
    expire_seconds = models.PositiveIntegerField(
        _("Message expiry (seconds)"),
        blank=True,
        null=True,
        help_text=_(
            "A run that no worker has started this many seconds after it was sent is discarded. "
            "Use this or Expires, not both."
        ),
    )
    one_off = models.BooleanField(
        _("One-off"),
        default=False,
        help_text=_("Run once, then disable the task. Clocked tasks must be one-off."),
    )
    start_time = models.DateTimeField(
        _("Start time"),
        blank=True,
        null=True,
        help_text=_("No run before this time. Empty: the schedule applies from now."),
    )
    enabled = models.BooleanField(
        _("Enabled"),
        default=True,
        help_text=_("Untick to pause the task: beat sends nothing until it is enabled again."),
    )
    last_run_at = models.DateTimeField(
        _("Last run"),
        auto_now=False,
        auto_now_add=False,
        editable=False,
        blank=True,
        null=True,
        help_text=_(
            "When beat last sent the task. Cleared when the task is disabled, so enabling it "
            "again does not catch up on the runs missed meanwhile."
        ),
    )
    total_run_count = models.PositiveIntegerField(
        _("Runs sent"),
        default=0,
        editable=False,
        help_text=_("How many times beat has sent the task."),
    )
    date_changed = models.DateTimeField(
        _("Last changed"), auto_now=True, help_text=_("When the task was last saved.")
    )
    description = models.TextField(
        _("Description"),
        blank=True,
        help_text=_("Notes for whoever looks after the task: what it does, whom to ask."),
    )
    # Beyond django-celery-beat (and the run policy and pause record of the base classes):
    defined_in_code = models.BooleanField(
        _("Defined in code"),
        default=False,
        editable=False,
        help_text=_("Created from the beat_schedule setting; beat overwrites edits to it at start."),
    )
    load_error = models.TextField(
        _("Load error"),
        blank=True,
        default="",
        editable=False,
        help_text=_("Why beat could not load this task the last time it tried; empty when it could."),
    )
    version = models.BigIntegerField(_("Change version"), default=0, editable=False, db_index=True)

    objects = PeriodicTaskQuerySet.as_manager()

    no_changes = False  # django-celery-beat compatibility; read by PeriodicTasks.changed()

    class Meta:
        verbose_name = _("periodic task")
        verbose_name_plural = _("periodic tasks")
        constraints = TASK_CONSTRAINTS

    def __str__(self) -> str:
        scheduler = self.scheduler
        return f"{self.name}: {scheduler if scheduler is not None else '{no schedule}'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.validate_for_save()
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        update_fields = kwargs.get("update_fields")
        chosen_here = update_fields is None and not args and not kwargs.get("force_insert")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "version", "date_changed"}
            if "enabled" in update_fields:
                kwargs["update_fields"] |= {"last_run_at", *PAUSE_FIELDS}
        elif chosen_here:
            kwargs["update_fields"] = fields_to_write(self)
        with transaction.atomic(using=using):
            self.version = PeriodicTasks.next_version(using)
            try:
                super().save(*args, **kwargs)
            except DatabaseError as exc:
                if not (chosen_here and kwargs["update_fields"] and no_row_updated(exc)):
                    raise
                # The row was deleted since this instance was read: a plain save() inserts
                # it again (as Django, and django-celery-beat, do), with every field. The
                # UPDATE that found no row did not fail in the database, so the transaction
                # is sound: clear the rollback mark Django's inner block left on it.
                transaction.set_rollback(False, using=using)
                kwargs.pop("update_fields")
                super().save(*args, **kwargs)
        self._loaded_run_state = (self.last_run_at, self.total_run_count, self.enabled)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            lock_counter(using)  # before the row, as every write path (no deadlock with a save)
            return super().delete(*args, **kwargs)

    def natural_key(self) -> tuple[str]:
        """A task is known by its name (``dumpdata --natural-foreign --natural-primary``)."""
        return (self.name,)

    # -- validation ---------------------------------------------------------------

    def _normalise(self) -> None:
        for name in ("queue", "exchange", "routing_key"):
            if not getattr(self, name):
                setattr(self, name, None)
        if not self.enabled:
            self.last_run_at = None
        else:  # a pause ends when the task is enabled, whichever way
            self.paused_at, self.paused_by, self.paused_reason = None, "", ""

    def clean(self) -> None:
        errors = task_errors(self)
        if errors:
            raise ValidationError(errors)

    def validate_for_save(self) -> None:
        """The checks that need no query: fields, JSON shapes, schedule choice, expiry."""
        self._normalise()
        errors: dict[str, Any] = {}
        for check in (lambda: self.clean_fields(exclude=SCHEDULE_FIELDS), self.clean):
            try:
                check()
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any, **kwargs: Any) -> PeriodicTask:
        instance = super().from_db(db, field_names, values, **kwargs)
        loaded = instance.__dict__  # deferred fields are absent: reading them would query
        if "last_run_at" in loaded and "total_run_count" in loaded and "enabled" in loaded:
            instance._loaded_run_state = (loaded["last_run_at"], loaded["total_run_count"], loaded["enabled"])
        return instance

    # -- schedule -----------------------------------------------------------------

    @property
    def scheduler(self) -> ScheduleModel | None:
        """The schedule row this task uses (interval, crontab, solar or clocked)."""
        for name in ("crontab", "interval", "solar", "clocked"):
            if getattr(self, f"{name}_id") is not None:
                return getattr(self, name)
        return None

    @property
    def schedule(self) -> Any:
        """The Celery schedule object of :attr:`scheduler`."""
        scheduler = self.scheduler
        return scheduler.schedule if scheduler is not None else None

    @property
    def schedule_kind(self) -> str | None:
        """Which kind of schedule the task uses, without a query."""
        for name in SCHEDULE_FIELDS:
            if getattr(self, f"{name}_id") is not None:
                return name
        return None

    def run_state(self, starting_deadline: float | None = None, now: datetime | None = None) -> RunState:
        """What the time math needs of this row besides its schedule (aware UTC times;
        ``now`` resolves a naive past time in a repeated hour, see :func:`.dbtime.from_db`)."""
        return RunState(
            last_run_at=from_db(self.last_run_at, now),
            start_time=from_db(self.start_time),
            expires=from_db(self.expires),
            anchor=from_db(self.date_changed, now),
            starting_deadline=starting_deadline,
            missed=self.missed_runs,
            missed_limit=self.missed_runs_limit,
            grace=self.grace_seconds,
        )

    def upcoming_runs(self, now: datetime, count: int = 5) -> list[datetime]:
        """The next ``count`` run times after ``now`` (aware UTC), as beat would send them."""
        return upcoming_runs(self.schedule, self.run_state(now=now), now, count)

    @property
    def expires_(self) -> Any:
        return self.expires or self.expire_seconds
