"""django-celery-beat's ``utils`` names, over django-periodic's own code (compatibility).

New code should use :mod:`django_periodic.conf` (the clock) and
:mod:`django_periodic.models.dbtime` (datetimes at the database boundary).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from .conf import utc_now as aware_now
from .models.dbtime import from_db
from .schedulers import DatabaseScheduler
from .timing.schedules import NEVER_CHECK_TIMEOUT

__all__ = ["NEVER_CHECK_TIMEOUT", "aware_now", "is_database_scheduler", "make_aware", "now"]


def make_aware(value: datetime) -> datetime:
    """django-celery-beat's helper: naive values are read in ``TIME_ZONE``."""
    return from_db(value).astimezone(timezone.get_default_timezone())  # type: ignore[union-attr]


def now() -> datetime:
    """The current time, aware, in ``TIME_ZONE``."""
    return timezone.localtime(timezone.now()) if settings.USE_TZ else make_aware(timezone.now())


def is_database_scheduler(scheduler: Any) -> bool:
    """Whether ``scheduler`` (a name, a path or a class) is this app's scheduler."""
    if not scheduler:
        return False
    if isinstance(scheduler, str):
        return scheduler in ("django", "django_periodic") or scheduler.endswith(":DatabaseScheduler")
    return isinstance(scheduler, type) and issubclass(scheduler, DatabaseScheduler)
