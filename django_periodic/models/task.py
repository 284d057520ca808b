"""The periodic task table: what to send, on which schedule, with which options."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DatabaseError, models, router, transaction
from django.utils.translation import gettext_lazy as _

from ..timing.plans import MISSED_ALL, MISSED_ONCE, MISSED_SKIP, RunState, upcoming_runs
from .changes import PeriodicTasks
from .dbtime import from_db
from .fields import JSONDictField, JSONListField
from .querysets import SCHEDULE_FIELDS, PeriodicTaskQuerySet, lock_counter
from .schedules import ClockedSchedule, CrontabSchedule, IntervalSchedule, ScheduleModel, SolarSchedule
from .task_rules import TASK_CONSTRAINTS, fields_to_write, no_row_updated, task_errors

#: What beat does when a run falls due while the task's previous run has not finished.
OVERLAP_ALLOW = "allow"
OVERLAP_SKIP = "skip"
OVERLAP_CHOICES = [
    (OVERLAP_ALLOW, _("Send it anyway")),
    (OVERLAP_SKIP, _("Skip it while the previous run is unfinished")),
]

MISSED_RUNS_CHOICES = [
    (MISSED_ONCE, _("Run once")),
    (MISSED_SKIP, _("Skip them")),
    (MISSED_ALL, _("Run each missed run")),
]


class PeriodicTask(models.Model):
    """A task that beat sends on a schedule: exactly one of the four schedule kinds."""

    name = models.CharField(
        _("Name"),
        max_length=200,
        unique=True,
        help_text=_("Short Description For This Task"),
    )
    task = models.CharField(
        _("Task Name"),
        max_length=200,
        help_text=_(
            'The Name of the Celery Task that Should be Run.  (Example: "proj.tasks.import_contacts")'
        ),
    )
    interval = models.ForeignKey(
        IntervalSchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("Interval Schedule"),
        help_text=_(
            "Interval Schedule to run the task on.  Set only one schedule type, leave the others null."
        ),
    )
    crontab = models.ForeignKey(
        CrontabSchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("Crontab Schedule"),
        help_text=_(
            "Crontab Schedule to run the task on.  Set only one schedule type, leave the others null."
        ),
    )
    solar = models.ForeignKey(
        SolarSchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("Solar Schedule"),
        help_text=_("Solar Schedule to run the task on.  Set only one schedule type, leave the others null."),
    )
    clocked = models.ForeignKey(
        ClockedSchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("Clocked Schedule"),
        help_text=_(
            "Clocked Schedule to run the task on.  Set only one schedule type, leave the others null."
        ),
    )
    args = JSONListField(
        _("Positional Arguments"),
        blank=True,
        default=list,
        help_text=_('JSON encoded positional arguments (Example: ["arg1", "arg2"])'),
    )
    kwargs = JSONDictField(
        _("Keyword Arguments"),
        blank=True,
        default=dict,
        help_text=_('JSON encoded keyword arguments (Example: {"argument": "value"})'),
    )
    queue = models.CharField(
        _("Queue Override"),
        max_length=200,
        null=True,
        blank=True,
        default=None,
        help_text=_("Queue defined in CELERY_TASK_QUEUES. Leave None for default queuing."),
    )
    exchange = models.CharField(
        _("Exchange"),
        max_length=200,
        null=True,
        blank=True,
        default=None,
        help_text=_("Override Exchange for low-level AMQP routing"),
    )
    routing_key = models.CharField(
        _("Routing Key"),
        max_length=200,
        null=True,
        blank=True,
        default=None,
        help_text=_("Override Routing Key for low-level AMQP routing"),
    )
    headers = JSONDictField(
        _("AMQP Message Headers"),
        blank=True,
        default=dict,
        help_text=_("JSON encoded message headers for the AMQP message."),
    )
    options = JSONDictField(
        _("More Options"),
        blank=True,
        default=dict,
        help_text=_(
            "Other apply_async options as JSON, passed on as they are "
            '(Example: {"countdown": 10, "time_limit": 60})'
        ),
    )
    priority = models.PositiveIntegerField(
        _("Priority"),
        default=None,
        validators=[MaxValueValidator(255)],
        blank=True,
        null=True,
        help_text=_(
            "Priority Number between 0 and 255. "
            "Supported by: RabbitMQ, Redis (priority reversed, 0 is highest)."
        ),
    )
    expires = models.DateTimeField(
        _("Expires Datetime"),
        blank=True,
        null=True,
        help_text=_("Datetime after which the schedule will no longer trigger the task to run"),
    )
    expire_seconds = models.PositiveIntegerField(
        _("Expires timedelta with seconds"),
        blank=True,
        null=True,
        help_text=_("Timedelta with seconds which the schedule will no longer trigger the task to run"),
    )
    one_off = models.BooleanField(
        _("One-off Task"),
        default=False,
        help_text=_("If True, the schedule will only run the task a single time"),
    )
    start_time = models.DateTimeField(
        _("Start Datetime"),
        blank=True,
        null=True,
        help_text=_("Datetime when the schedule should begin triggering the task to run"),
    )
    enabled = models.BooleanField(
        _("Enabled"), default=True, help_text=_("Set to False to disable the schedule")
    )
    last_run_at = models.DateTimeField(
        _("Last Run Datetime"),
        auto_now=False,
        auto_now_add=False,
        editable=False,
        blank=True,
        null=True,
        help_text=_(
            "Datetime that the schedule last triggered the task to run. "
            "Reset to None if enabled is set to False."
        ),
    )
    total_run_count = models.PositiveIntegerField(
        _("Total Run Count"),
        default=0,
        editable=False,
        help_text=_("Running count of how many times the schedule has triggered the task"),
    )
    date_changed = models.DateTimeField(
        _("Last Modified"), auto_now=True, help_text=_("Datetime that this PeriodicTask was last modified")
    )
    description = models.TextField(
        _("Description"),
        blank=True,
        help_text=_("Detailed description about the details of this Periodic Task"),
    )
    # Beyond django-celery-beat:
    missed_runs = models.CharField(
        _("Missed runs"),
        max_length=8,
        choices=MISSED_RUNS_CHOICES,
        default=MISSED_ONCE,
        help_text=_(
            "What to do with runs that fell due while beat could not send them and are later "
            "than the grace period: run once, skip them, or run each (up to the limit)."
        ),
    )
    missed_runs_limit = models.PositiveSmallIntegerField(
        _("Missed runs limit"),
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_("With 'run each missed run': how many of the most recent ones run at most."),
    )
    grace_seconds = models.PositiveIntegerField(
        _("Grace period (seconds)"),
        null=True,
        blank=True,
        help_text=_("How late a run may still go out as an ordinary run. Empty: no grace."),
    )
    jitter_seconds = models.PositiveIntegerField(
        _("Jitter (seconds)"),
        null=True,
        blank=True,
        help_text=_(
            "Delay each run by up to this many seconds, the same delay for the same run, "
            "to spread tasks that share a time."
        ),
    )
    overlap = models.CharField(
        _("Overlapping runs"),
        max_length=8,
        choices=OVERLAP_CHOICES,
        default=OVERLAP_ALLOW,
        help_text=_(
            "What to do when a run falls due while the previous one has not finished "
            "(needs the run ledger, and the app installed on the workers)."
        ),
    )
    overlap_timeout = models.PositiveIntegerField(
        _("Unfinished after (seconds)"),
        null=True,
        blank=True,
        help_text=_(
            "With 'skip': a previous run with no outcome after this many seconds stops blocking "
            "and is marked as having no outcome. Empty: the OVERLAP_TIMEOUT setting (one hour)."
        ),
    )
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
