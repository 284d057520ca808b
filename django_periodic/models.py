"""The tables: schedules, periodic tasks and the change tracker.

Names and fields follow django-celery-beat so a project can switch. Validation
runs in ``save()`` as well as in ``full_clean()``, so the ORM cannot store a row
that the admin would refuse and that beat would later have to drop.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from datetime import timedelta
from typing import Any

from celery import schedules as celery_schedules
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from timezone_field import TimeZoneField

from . import validators
from .cron import CronFieldError, CronSpec
from .changes import PeriodicTaskDeletion, PeriodicTasks
from .fields import JSONDictField, JSONListField
from .querysets import SCHEDULE_FIELDS, PeriodicTaskQuerySet, ScheduleQuerySet, bump_tasks_using
from .schedules import TzAwareCrontab, clocked

__all__ = [
    "DAYS", "HOURS", "MINUTES", "SECONDS", "MICROSECONDS", "PERIOD_CHOICES",
    "SINGULAR_PERIODS", "SOLAR_SCHEDULES", "IntervalSchedule", "CrontabSchedule",
    "SolarSchedule", "ClockedSchedule", "PeriodicTask", "PeriodicTasks",
    "PeriodicTaskDeletion", "cronexp", "crontab_schedule_celery_timezone",
]

DAYS, HOURS, MINUTES, SECONDS, MICROSECONDS = "days", "hours", "minutes", "seconds", "microseconds"
PERIOD_CHOICES = (
    (DAYS, _("Days")),
    (HOURS, _("Hours")),
    (MINUTES, _("Minutes")),
    (SECONDS, _("Seconds")),
    (MICROSECONDS, _("Microseconds")),
)
SINGULAR_PERIODS = (
    (DAYS, _("Day")),
    (HOURS, _("Hour")),
    (MINUTES, _("Minute")),
    (SECONDS, _("Second")),
    (MICROSECONDS, _("Microsecond")),
)
SOLAR_SCHEDULES = [
    ("dawn_astronomical", _("Astronomical dawn")),
    ("dawn_civil", _("Civil dawn")),
    ("dawn_nautical", _("Nautical dawn")),
    ("dusk_astronomical", _("Astronomical dusk")),
    ("dusk_civil", _("Civil dusk")),
    ("dusk_nautical", _("Nautical dusk")),
    ("solar_noon", _("Solar noon")),
    ("sunrise", _("Sunrise")),
    ("sunset", _("Sunset")),
]


def cronexp(field: Any) -> str:
    """A crontab field as text: spaces removed, empty read as ``*``."""
    return "".join(str(field).split()) or "*" if field is not None else "*"


def crontab_schedule_celery_timezone() -> str:
    """Default zone for new crontabs: Celery's ``timezone`` setting if valid, else UTC."""
    name = getattr(settings, "CELERY_TIMEZONE", None) or getattr(settings, "TIME_ZONE", None)
    return name if name in zoneinfo.available_timezones() else "UTC"


class ScheduleModel(models.Model):
    """Shared behaviour of the four schedule tables."""

    #: The foreign key on PeriodicTask that points at this model.
    task_field = ""

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        abstract = True

    def validate_for_save(self) -> None:
        """Run the checks that need no query (fields and ``clean()``)."""
        errors: dict[str, Any] = {}
        for check in (self.clean_fields, self.clean):
            try:
                check()
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.validate_for_save()
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        adding = self._state.adding
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)
            if not adding:
                bump_tasks_using(type(self), [self.pk], using)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        # Delete the tasks first: on MySQL Django's cascade would set their foreign
        # key to NULL before deleting them, which the one-schedule constraint refuses.
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            self.tasks.using(using).delete()
            return super().delete(*args, **kwargs)

    @property
    def tasks(self) -> PeriodicTaskQuerySet:
        """The periodic tasks that use this schedule."""
        return PeriodicTask.objects.filter(**{self.task_field: self})


class SolarSchedule(ScheduleModel):
    """Run at a solar event (sunrise, dusk ...) at a place; needs the ``solar`` extra."""

    task_field = "solar"

    event = models.CharField(
        _("Solar Event"), max_length=24, choices=SOLAR_SCHEDULES,
        help_text=_("The type of solar event when the job should run"),
    )
    latitude = models.DecimalField(
        _("Latitude"), max_digits=9, decimal_places=6,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_("Run the task when the event happens at this latitude"),
    )
    longitude = models.DecimalField(
        _("Longitude"), max_digits=9, decimal_places=6,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        help_text=_("Run the task when the event happens at this longitude"),
    )

    class Meta:
        verbose_name = _("solar event")
        verbose_name_plural = _("solar events")
        ordering = ("event", "latitude", "longitude")
        constraints = [
            models.UniqueConstraint(
                fields=("event", "latitude", "longitude"), name="django_periodic_solar_unique",
                violation_error_message=_("This solar event at this place already exists."),
            ),
        ]

    def clean_fields(self, exclude: Any = None) -> None:
        # Floats such as 13.4 carry binary noise; read them as the decimal they print as.
        for name in ("latitude", "longitude"):
            value = getattr(self, name)
            if isinstance(value, float):
                setattr(self, name, Decimal(repr(value)).quantize(Decimal("0.000001")))
        super().clean_fields(exclude=exclude)

    @property
    def schedule(self) -> celery_schedules.solar:
        return celery_schedules.solar(self.event, float(self.latitude), float(self.longitude))

    @classmethod
    def from_schedule(cls, schedule: celery_schedules.solar) -> SolarSchedule:
        spec = {"event": schedule.event, "latitude": schedule.lat, "longitude": schedule.lon}
        return cls.objects.filter(**spec).first() or cls(**spec)

    def __str__(self) -> str:
        return f"{self.get_event_display()} ({self.latitude}, {self.longitude})"


class IntervalSchedule(ScheduleModel):
    """Run every N days, hours, minutes, seconds or microseconds."""

    task_field = "interval"

    DAYS, HOURS, MINUTES, SECONDS, MICROSECONDS = DAYS, HOURS, MINUTES, SECONDS, MICROSECONDS
    PERIOD_CHOICES = PERIOD_CHOICES

    every = models.IntegerField(
        _("Number of Periods"), validators=[MinValueValidator(1)],
        help_text=_("Number of interval periods to wait before running the task again"),
    )
    period = models.CharField(
        _("Interval Period"), max_length=24, choices=PERIOD_CHOICES,
        help_text=_("The type of period between task runs (Example: days)"),
    )

    class Meta:
        verbose_name = _("interval")
        verbose_name_plural = _("intervals")
        ordering = ("period", "every")
        constraints = [
            models.CheckConstraint(
                condition=Q(every__gte=1), name="django_periodic_interval_every_positive",
                violation_error_message=_("Number of periods must be 1 or more."),
            ),
        ]

    @property
    def timedelta(self) -> timedelta:
        return timedelta(**{self.period: self.every})

    @property
    def schedule(self) -> celery_schedules.schedule:
        return celery_schedules.schedule(self.timedelta)

    @classmethod
    def from_schedule(cls, schedule: celery_schedules.schedule, period: str = SECONDS) -> IntervalSchedule:
        unit = timedelta(**{period: 1})
        every = max(int(schedule.run_every // unit), 1)
        found = cls.objects.filter(every=every, period=period).first()
        return found or cls(every=every, period=period)

    @property
    def period_singular(self) -> str:
        return self.period[:-1]

    def __str__(self) -> str:
        names = {
            DAYS: ngettext("every %(n)s day", "every %(n)s days", self.every),
            HOURS: ngettext("every %(n)s hour", "every %(n)s hours", self.every),
            MINUTES: ngettext("every %(n)s minute", "every %(n)s minutes", self.every),
            SECONDS: ngettext("every %(n)s second", "every %(n)s seconds", self.every),
            MICROSECONDS: ngettext("every %(n)s microsecond", "every %(n)s microseconds", self.every),
        }
        return names.get(self.period, "every %(n)s ?") % {"n": self.every}


class ClockedSchedule(ScheduleModel):
    """Run once, at a given instant."""

    task_field = "clocked"

    clocked_time = models.DateTimeField(_("Clock Time"), help_text=_("Run the task at clocked time"))

    class Meta:
        verbose_name = _("clocked")
        verbose_name_plural = _("clocked")
        ordering = ("clocked_time",)

    @property
    def schedule(self) -> clocked:
        return clocked(clocked_time=_aware(self.clocked_time))

    @classmethod
    def from_schedule(cls, schedule: clocked) -> ClockedSchedule:
        found = cls.objects.filter(clocked_time=schedule.clocked_time).first()
        return found or cls(clocked_time=schedule.clocked_time)

    def __str__(self) -> str:
        return f"{timezone.localtime(_aware(self.clocked_time)):%Y-%m-%d %H:%M:%S %Z}"


class CrontabSchedule(ScheduleModel):
    """Run at the minutes, hours and days that five cron fields match, in a time zone."""

    task_field = "crontab"

    minute = models.CharField(
        _("Minute(s)"), max_length=240, default="*", validators=[validators.minute_validator],
        help_text=_('Cron Minutes to Run. Use "*" for "all". (Example: "0,30")'),
    )
    hour = models.CharField(
        _("Hour(s)"), max_length=96, default="*", validators=[validators.hour_validator],
        help_text=_('Cron Hours to Run. Use "*" for "all". (Example: "8,20")'),
    )
    day_of_month = models.CharField(
        _("Day(s) Of The Month"), max_length=124, default="*",
        validators=[validators.day_of_month_validator],
        help_text=_('Cron Days Of The Month to Run. Use "*" for "all". (Example: "1,15")'),
    )
    month_of_year = models.CharField(
        _("Month(s) Of The Year"), max_length=64, default="*",
        validators=[validators.month_of_year_validator],
        help_text=_('Cron Months (1-12) Of The Year to Run. Use "*" for "all". (Example: "1,12")'),
    )
    day_of_week = models.CharField(
        _("Day(s) Of The Week"), max_length=64, default="*",
        validators=[validators.day_of_week_validator],
        help_text=_('Cron Days Of The Week to Run. Use "*" for "all", Sunday is 0 or 7, '
                    'Monday is 1. (Example: "0,5")'),
    )
    timezone = TimeZoneField(
        _("Cron Timezone"), default=crontab_schedule_celery_timezone, use_pytz=False,
        help_text=_("Timezone to Run the Cron Schedule on. Default is UTC."),
    )

    class Meta:
        verbose_name = _("crontab")
        verbose_name_plural = _("crontabs")
        ordering = ("month_of_year", "day_of_month", "day_of_week", "hour", "minute", "timezone")

    def clean_fields(self, exclude: Any = None) -> None:
        for name in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week"):
            setattr(self, name, cronexp(getattr(self, name)))
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        # Each field is valid on its own; together they must name a real date.
        try:
            CronSpec.parse(self.minute, self.hour, self.day_of_week, self.day_of_month,
                           self.month_of_year)
        except CronFieldError as exc:
            raise ValidationError({exc.field: validators.cron_error(exc)}) from exc

    @property
    def expression(self) -> str:
        """The five fields in cron order: minute hour day_of_month month_of_year day_of_week."""
        return " ".join(
            cronexp(v) for v in (self.minute, self.hour, self.day_of_month,
                                 self.month_of_year, self.day_of_week)
        )

    @property
    def schedule(self) -> TzAwareCrontab:
        return TzAwareCrontab(
            minute=self.minute, hour=self.hour, day_of_week=self.day_of_week,
            day_of_month=self.day_of_month, month_of_year=self.month_of_year,
            tz=str(self.timezone),
        )

    @classmethod
    def from_schedule(cls, schedule: celery_schedules.crontab) -> CrontabSchedule:
        spec = {
            "minute": cronexp(schedule._orig_minute),
            "hour": cronexp(schedule._orig_hour),
            "day_of_week": cronexp(schedule._orig_day_of_week),
            "day_of_month": cronexp(schedule._orig_day_of_month),
            "month_of_year": cronexp(schedule._orig_month_of_year),
            "timezone": str(getattr(schedule, "tz", None) or crontab_schedule_celery_timezone()),
        }
        return cls.objects.filter(**spec).first() or cls(**spec)

    @property
    def human_readable(self) -> str:
        """The schedule in words, in the active language; the raw expression if that fails."""
        from .describe import describe_crontab

        return f"{describe_crontab(self.expression)} {self.timezone}"

    def __str__(self) -> str:
        return f"{self.expression} (m/h/dM/MY/d) {self.timezone}"


def _aware(value: Any) -> Any:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return value


class PeriodicTask(models.Model):
    """A task that beat sends on a schedule: exactly one of the four schedule kinds."""

    name = models.CharField(
        _("Name"), max_length=200, unique=True, help_text=_("Short Description For This Task"),
    )
    task = models.CharField(
        _("Task Name"), max_length=200,
        help_text=_('The Name of the Celery Task that Should be Run.  (Example: "proj.tasks.import_contacts")'),
    )
    interval = models.ForeignKey(
        IntervalSchedule, on_delete=models.CASCADE, null=True, blank=True,
        verbose_name=_("Interval Schedule"),
        help_text=_("Interval Schedule to run the task on.  Set only one schedule type, leave the others null."),
    )
    crontab = models.ForeignKey(
        CrontabSchedule, on_delete=models.CASCADE, null=True, blank=True,
        verbose_name=_("Crontab Schedule"),
        help_text=_("Crontab Schedule to run the task on.  Set only one schedule type, leave the others null."),
    )
    solar = models.ForeignKey(
        SolarSchedule, on_delete=models.CASCADE, null=True, blank=True,
        verbose_name=_("Solar Schedule"),
        help_text=_("Solar Schedule to run the task on.  Set only one schedule type, leave the others null."),
    )
    clocked = models.ForeignKey(
        ClockedSchedule, on_delete=models.CASCADE, null=True, blank=True,
        verbose_name=_("Clocked Schedule"),
        help_text=_("Clocked Schedule to run the task on.  Set only one schedule type, leave the others null."),
    )
    args = JSONListField(
        _("Positional Arguments"), blank=True, default=list,
        help_text=_('JSON encoded positional arguments (Example: ["arg1", "arg2"])'),
    )
    kwargs = JSONDictField(
        _("Keyword Arguments"), blank=True, default=dict,
        help_text=_('JSON encoded keyword arguments (Example: {"argument": "value"})'),
    )
    queue = models.CharField(
        _("Queue Override"), max_length=200, null=True, blank=True, default=None,
        help_text=_("Queue defined in CELERY_TASK_QUEUES. Leave None for default queuing."),
    )
    exchange = models.CharField(
        _("Exchange"), max_length=200, null=True, blank=True, default=None,
        help_text=_("Override Exchange for low-level AMQP routing"),
    )
    routing_key = models.CharField(
        _("Routing Key"), max_length=200, null=True, blank=True, default=None,
        help_text=_("Override Routing Key for low-level AMQP routing"),
    )
    headers = JSONDictField(
        _("AMQP Message Headers"), blank=True, default=dict,
        help_text=_("JSON encoded message headers for the AMQP message."),
    )
    options = JSONDictField(
        _("More Options"), blank=True, default=dict,
        help_text=_('Other apply_async options as JSON, passed on as they are '
                    '(Example: {"countdown": 10, "time_limit": 60})'),
    )
    priority = models.PositiveIntegerField(
        _("Priority"), default=None, validators=[MaxValueValidator(255)], blank=True, null=True,
        help_text=_("Priority Number between 0 and 255. Supported by: RabbitMQ, Redis (priority reversed, 0 is highest)."),
    )
    expires = models.DateTimeField(
        _("Expires Datetime"), blank=True, null=True,
        help_text=_("Datetime after which the schedule will no longer trigger the task to run"),
    )
    expire_seconds = models.PositiveIntegerField(
        _("Expires timedelta with seconds"), blank=True, null=True,
        help_text=_("Timedelta with seconds which the schedule will no longer trigger the task to run"),
    )
    one_off = models.BooleanField(_("One-off Task"), default=False, help_text=_("If True, the schedule will only run the task a single time"))
    start_time = models.DateTimeField(
        _("Start Datetime"), blank=True, null=True,
        help_text=_("Datetime when the schedule should begin triggering the task to run"),
    )
    enabled = models.BooleanField(_("Enabled"), default=True, help_text=_("Set to False to disable the schedule"))
    last_run_at = models.DateTimeField(
        _("Last Run Datetime"), auto_now=False, auto_now_add=False, editable=False, blank=True, null=True,
        help_text=_("Datetime that the schedule last triggered the task to run. Reset to None if enabled is set to False."),
    )
    total_run_count = models.PositiveIntegerField(
        _("Total Run Count"), default=0, editable=False,
        help_text=_("Running count of how many times the schedule has triggered the task"),
    )
    date_changed = models.DateTimeField(_("Last Modified"), auto_now=True, help_text=_("Datetime that this PeriodicTask was last modified"))
    description = models.TextField(_("Description"), blank=True, help_text=_("Detailed description about the details of this Periodic Task"))
    # Beyond django-celery-beat:
    defined_in_code = models.BooleanField(
        _("Defined in code"), default=False, editable=False,
        help_text=_("Created from the beat_schedule setting; beat overwrites edits to it at start."),
    )
    load_error = models.TextField(
        _("Load error"), blank=True, default="", editable=False,
        help_text=_("Why beat could not load this task the last time it tried; empty when it could."),
    )
    version = models.BigIntegerField(_("Change version"), default=0, editable=False, db_index=True)

    objects = PeriodicTaskQuerySet.as_manager()

    no_changes = False  # django-celery-beat compatibility; read by PeriodicTasks.changed()

    class Meta:
        verbose_name = _("periodic task")
        verbose_name_plural = _("periodic tasks")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(interval__isnull=False, crontab__isnull=True, solar__isnull=True, clocked__isnull=True)
                    | Q(interval__isnull=True, crontab__isnull=False, solar__isnull=True, clocked__isnull=True)
                    | Q(interval__isnull=True, crontab__isnull=True, solar__isnull=False, clocked__isnull=True)
                    | Q(interval__isnull=True, crontab__isnull=True, solar__isnull=True, clocked__isnull=False)
                ),
                name="django_periodic_task_one_schedule",
                violation_error_message=_("Set exactly one of interval, crontab, solar or clocked."),
            ),
            models.CheckConstraint(
                condition=Q(clocked__isnull=True) | Q(one_off=True),
                name="django_periodic_task_clocked_one_off",
                violation_error_message=_("A clocked task runs once: tick one_off."),
            ),
            models.CheckConstraint(
                condition=Q(expires__isnull=True) | Q(expire_seconds__isnull=True),
                name="django_periodic_task_one_expiry",
                violation_error_message=_("Set expires or expire_seconds, not both."),
            ),
            models.CheckConstraint(
                condition=Q(priority__isnull=True) | Q(priority__lte=255),
                name="django_periodic_task_priority_range",
                violation_error_message=_("Priority must be between 0 and 255."),
            ),
            models.CheckConstraint(
                condition=~Q(name="") & ~Q(task=""),
                name="django_periodic_task_names_given",
                violation_error_message=_("Give the periodic task a name and the Celery task to run."),
            ),
        ]

    def __str__(self) -> str:
        scheduler = self.scheduler
        return f"{self.name}: {scheduler if scheduler is not None else '{no schedule}'}"

    # -- validation ---------------------------------------------------------------

    def _normalise(self) -> None:
        for name in ("queue", "exchange", "routing_key"):
            if not getattr(self, name):
                setattr(self, name, None)
        if not self.enabled:
            self.last_run_at = None

    def clean(self) -> None:
        errors: dict[str, list[ValidationError]] = {}
        chosen = [name for name in SCHEDULE_FIELDS if getattr(self, f"{name}_id") is not None]
        if not chosen:
            errors.setdefault("__all__", []).append(ValidationError(
                _("Choose a schedule: set one of interval, crontab, solar or clocked."),
                code="no_schedule",
            ))
        elif len(chosen) > 1:
            for name in chosen:
                errors.setdefault(name, []).append(ValidationError(
                    _("Only one schedule can be set; %(fields)s are all set. Keep one, clear the others."),
                    code="several_schedules", params={"fields": ", ".join(chosen)},
                ))
        if self.clocked_id is not None and not self.one_off:
            errors.setdefault("one_off", []).append(ValidationError(
                _("A clocked schedule runs once: tick one_off."), code="clocked_not_one_off",
            ))
        if self.expires is not None and self.expire_seconds is not None:
            errors.setdefault("expire_seconds", []).append(ValidationError(
                _("Set expires (a date) or expire_seconds (a duration), not both."), code="two_expiries",
            ))
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
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> PeriodicTask:
        instance = super().from_db(db, field_names, values)
        instance._loaded_run_state = (instance.last_run_at, instance.total_run_count)
        return instance

    def _fields_to_write(self) -> set[str] | None:
        """Leave out the run state beat owns unless this instance changed it.

        Beat writes ``last_run_at`` and ``total_run_count`` while a form is open;
        writing the values read when the form opened would rewind them and make
        beat send a run again.
        """
        loaded = getattr(self, "_loaded_run_state", None)
        if self._state.adding or loaded is None:
            return None
        fields = {f.attname for f in self._meta.concrete_fields if not f.primary_key}
        if self.last_run_at == loaded[0]:
            fields.discard("last_run_at")
        if self.total_run_count == loaded[1]:
            fields.discard("total_run_count")
        return fields

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.validate_for_save()
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "version", "date_changed"}
        elif not args and not kwargs.get("force_insert"):
            kwargs["update_fields"] = self._fields_to_write()
        with transaction.atomic(using=using):
            self.version = PeriodicTasks.next_version(using)
            super().save(*args, **kwargs)
        self._loaded_run_state = (self.last_run_at, self.total_run_count)

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

    @property
    def expires_(self) -> Any:
        return self.expires or self.expire_seconds
