"""The four schedule tables: interval, crontab (with a time zone), solar and clocked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from celery import schedules as celery_schedules
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from timezone_field import TimeZoneField

from ..timing.cron import CronFieldError, CronSpec
from ..timing.cron_times import zone_names
from ..timing.describe import describe_crontab
from ..timing.schedules import TzAwareCrontab, clocked, shared_crontab, shared_interval
from . import validators
from .schedule_base import ScheduleModel

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
    return name if name in zone_names() else "UTC"


def require_solar() -> None:
    """Raise a clear ImportError when ephem (the ``solar`` extra) is missing."""
    try:
        import ephem  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "solar schedules need the 'solar' extra (ephem): pip install 'django-periodic[solar]'"
        ) from exc


class SolarSchedule(ScheduleModel):
    """Run at a solar event (sunrise, dusk ...) at a place; needs the ``solar`` extra."""

    task_field = "solar"

    event = models.CharField(
        _("Event"),
        max_length=24,
        choices=SOLAR_SCHEDULES,
        help_text=_("Sunrise, sunset, solar noon, or the civil, nautical or astronomical dawn or dusk."),
    )
    latitude = models.DecimalField(
        _("Latitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_("Of the place where the event is seen: degrees north (positive) or south (negative)."),
    )
    longitude = models.DecimalField(
        _("Longitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        help_text=_("Of the place where the event is seen: degrees east (positive) or west (negative)."),
    )

    class Meta:
        verbose_name = _("solar event")
        verbose_name_plural = _("solar events")
        ordering = ("event", "latitude", "longitude")
        constraints = [
            models.UniqueConstraint(
                fields=("event", "latitude", "longitude"),
                name="django_periodic_solar_unique",
                violation_error_message=_("This solar event at this place already exists."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} ({self.latitude}, {self.longitude})"

    def clean_fields(self, exclude: Any = None) -> None:
        # Floats such as 13.4 carry binary noise; read them as the decimal they print as.
        for name in ("latitude", "longitude"):
            value = getattr(self, name)
            if isinstance(value, float):
                setattr(self, name, Decimal(repr(value)).quantize(Decimal("0.000001")))
        super().clean_fields(exclude=exclude)

    @property
    def schedule(self) -> celery_schedules.solar:
        require_solar()
        return celery_schedules.solar(self.event, float(self.latitude), float(self.longitude))

    def clean(self) -> None:
        try:
            require_solar()
        except ImportError as exc:
            raise ValidationError(
                _("Solar schedules need the 'solar' extra: pip install 'django-periodic[solar]'."),
                code="solar_missing",
            ) from exc

    @classmethod
    def from_schedule(cls, schedule: celery_schedules.solar) -> SolarSchedule:
        spec = {"event": schedule.event, "latitude": schedule.lat, "longitude": schedule.lon}
        return cls.objects.filter(**spec).first() or cls(**spec)


class IntervalSchedule(ScheduleModel):
    """Run every N days, hours, minutes, seconds or microseconds."""

    task_field = "interval"

    DAYS, HOURS, MINUTES, SECONDS, MICROSECONDS = DAYS, HOURS, MINUTES, SECONDS, MICROSECONDS
    PERIOD_CHOICES = PERIOD_CHOICES

    every = models.IntegerField(
        _("Every"),
        validators=[MinValueValidator(1)],
        help_text=_("How many periods from one run to the next: 1 or more."),
    )
    period = models.CharField(
        _("Period"),
        max_length=24,
        choices=PERIOD_CHOICES,
        help_text=_("The unit of the interval."),
    )

    class Meta:
        verbose_name = _("interval")
        verbose_name_plural = _("intervals")
        ordering = ("period", "every")
        constraints = [
            models.CheckConstraint(
                condition=Q(every__gte=1),
                name="django_periodic_interval_every_positive",
                violation_error_message=_("Number of periods must be 1 or more."),
            ),
        ]

    def __str__(self) -> str:
        names = {
            DAYS: ngettext("every %(n)s day", "every %(n)s days", self.every),
            HOURS: ngettext("every %(n)s hour", "every %(n)s hours", self.every),
            MINUTES: ngettext("every %(n)s minute", "every %(n)s minutes", self.every),
            SECONDS: ngettext("every %(n)s second", "every %(n)s seconds", self.every),
            MICROSECONDS: ngettext("every %(n)s microsecond", "every %(n)s microseconds", self.every),
        }
        return names.get(self.period, "every %(n)s ?") % {"n": self.every}

    @property
    def timedelta(self) -> timedelta:
        return timedelta(**{self.period: self.every})

    @property
    def schedule(self) -> celery_schedules.schedule:
        return shared_interval(self.timedelta)

    @classmethod
    def from_schedule(cls, schedule: celery_schedules.schedule, period: str = SECONDS) -> IntervalSchedule:
        unit = timedelta(**{period: 1})
        every = max(int(schedule.run_every // unit), 1)
        found = cls.objects.filter(every=every, period=period).first()
        return found or cls(every=every, period=period)

    @property
    def period_singular(self) -> str:
        return self.period[:-1]


class ClockedSchedule(ScheduleModel):
    """Run once, at a given instant."""

    task_field = "clocked"

    clocked_time = models.DateTimeField(
        _("Run at"),
        help_text=_("When the task runs, once. A time already past runs as soon as beat reads it."),
    )

    class Meta:
        verbose_name = _("clocked")
        verbose_name_plural = _("clocked")
        ordering = ("clocked_time",)

    def __str__(self) -> str:
        return f"{timezone.localtime(_aware(self.clocked_time)):%Y-%m-%d %H:%M:%S %Z}"

    @property
    def schedule(self) -> clocked:
        return clocked(clocked_time=_aware(self.clocked_time))

    @classmethod
    def from_schedule(cls, schedule: clocked) -> ClockedSchedule:
        found = cls.objects.filter(clocked_time=schedule.clocked_time).first()
        return found or cls(clocked_time=schedule.clocked_time)


class CrontabSchedule(ScheduleModel):
    """Run at the minutes, hours and days that five cron fields match, in a time zone."""

    task_field = "crontab"

    minute = models.CharField(
        _("Minute"),
        max_length=240,
        default="*",
        validators=[validators.minute_validator],
        help_text=_('Minutes past the hour, 0-59: "*" for every minute, or "0,30", "0-15", "*/15".'),
    )
    hour = models.CharField(
        _("Hour"),
        max_length=96,
        default="*",
        validators=[validators.hour_validator],
        help_text=_('Hours of the day, 0-23: "*" for every hour, or "8,20", "9-17", "*/2".'),
    )
    day_of_month = models.CharField(
        _("Day of the month"),
        max_length=124,
        default="*",
        validators=[validators.day_of_month_validator],
        help_text=_('Days of the month, 1-31: "*" for every day, or "1,15", "1-7".'),
    )
    month_of_year = models.CharField(
        _("Month"),
        max_length=64,
        default="*",
        validators=[validators.month_of_year_validator],
        help_text=_('Months, 1-12 or jan-dec: "*" for every month, or "1,7", "jan-mar".'),
    )
    day_of_week = models.CharField(
        _("Day of the week"),
        max_length=64,
        default="*",
        validators=[validators.day_of_week_validator],
        help_text=_(
            'Days of the week, 0-7 or sun-sat (0 and 7 are Sunday): "*" for every day, or "1-5", "mon-fri". '
            "Month, day of the month and day of the week must all match."
        ),
    )
    timezone = TimeZoneField(
        _("Time zone"),
        default=crontab_schedule_celery_timezone,
        use_pytz=False,
        help_text=_(
            "The IANA time zone the fields are read in, such as Europe/Berlin. "
            "New crontabs start with Celery's timezone setting, else UTC."
        ),
    )

    class Meta:
        verbose_name = _("crontab")
        verbose_name_plural = _("crontabs")
        ordering = ("month_of_year", "day_of_month", "day_of_week", "hour", "minute", "timezone")

    def __str__(self) -> str:
        return f"{self.expression} (m/h/dM/MY/d) {self.timezone}"

    def clean_fields(self, exclude: Any = None) -> None:
        for name in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week"):
            setattr(self, name, cronexp(getattr(self, name)))
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        # Each field is valid on its own; together they must name a real date.
        try:
            CronSpec.parse(self.minute, self.hour, self.day_of_week, self.day_of_month, self.month_of_year)
        except CronFieldError as exc:
            if exc.code == "impossible_date":  # the one error no single field's validator sees
                raise ValidationError({exc.field: validators.cron_error(exc)}) from exc

    @property
    def expression(self) -> str:
        """The five fields in cron order: minute hour day_of_month month_of_year day_of_week."""
        return " ".join(
            cronexp(v)
            for v in (self.minute, self.hour, self.day_of_month, self.month_of_year, self.day_of_week)
        )

    @property
    def schedule(self) -> TzAwareCrontab:
        return shared_crontab(
            cronexp(self.minute),
            cronexp(self.hour),
            cronexp(self.day_of_week),
            cronexp(self.day_of_month),
            cronexp(self.month_of_year),
            str(self.timezone),
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
        return f"{describe_crontab(self.expression)} {self.timezone}"


def _aware(value: Any) -> Any:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return value
