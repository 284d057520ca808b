"""Datetime helpers at the database boundary, and django-celery-beat's utility names.

Inside django-periodic every datetime is aware UTC. With ``USE_TZ = False`` Django
stores naive datetimes in ``TIME_ZONE``; :func:`from_db` and :func:`to_db` convert
at the boundary, so beat, the admin and the time math behave the same either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

#: Seconds to wait before looking again at a schedule that will never run.
NEVER_CHECK_TIMEOUT = 100_000_000


def from_db(value: datetime | None) -> datetime | None:
    """A datetime read from the database, as aware UTC (naive means ``TIME_ZONE``)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.astimezone(UTC)


def aware_utc(value: Any, connection_tz: Any) -> datetime | None:
    """A datetime column's value as aware UTC, whether the ORM or the driver read it.

    Naive values are in the connection's time zone (Django's rule for databases
    without time zone support), or in ``TIME_ZONE`` without ``USE_TZ``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is None:
            raise ValueError("a datetime column cannot be read")
    if value.tzinfo is None and connection_tz is not None:
        value = timezone.make_aware(value, connection_tz)
    return from_db(value)


def to_db(value: datetime | None) -> datetime | None:
    """An aware datetime as the database expects it (naive ``TIME_ZONE`` without USE_TZ)."""
    if value is None or settings.USE_TZ:
        return value
    return timezone.make_naive(value, timezone.get_default_timezone())


def configured_clock() -> Callable[[], datetime]:
    """The clock beat and the admin preview read: ``DJANGO_PERIODIC["CLOCK"]`` or UTC now."""
    from .conf import app_settings

    if app_settings.CLOCK:
        clock: Callable[[], datetime] = import_string(app_settings.CLOCK)
        return clock
    return aware_now


def current_time() -> datetime:
    """Now, by :func:`configured_clock`."""
    return configured_clock()()


def make_aware(value: datetime) -> datetime:
    """django-celery-beat's helper: naive values are read in ``TIME_ZONE``."""
    return from_db(value).astimezone(timezone.get_default_timezone())  # type: ignore[union-attr]


def now() -> datetime:
    """The current time, aware, in ``TIME_ZONE``."""
    return timezone.localtime(timezone.now()) if settings.USE_TZ else make_aware(timezone.now())


def aware_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def is_database_scheduler(scheduler: Any) -> bool:
    """Whether ``scheduler`` (a name, a path or a class) is this app's scheduler."""
    if not scheduler:
        return False
    from .schedulers import DatabaseScheduler

    if isinstance(scheduler, str):
        return scheduler in ("django", "django_periodic") or scheduler.endswith(":DatabaseScheduler")
    return isinstance(scheduler, type) and issubclass(scheduler, DatabaseScheduler)
