"""django-celery-beat's ``utils`` names, over django-periodic's own code (compatibility).

New code should use :mod:`django_periodic.conf` (the clock) and
:mod:`django_periodic.models.dbtime` (datetimes at the database boundary).
"""

from __future__ import annotations

from typing import Any

from .beat.legacy import NEVER_CHECK_TIMEOUT, aware_now, make_aware, now
from .schedulers import DatabaseScheduler

__all__ = ["NEVER_CHECK_TIMEOUT", "aware_now", "is_database_scheduler", "make_aware", "now"]


def is_database_scheduler(scheduler: Any) -> bool:
    """Whether ``scheduler`` (a name, a path or a class) is this app's scheduler."""
    if not scheduler:
        return False
    if isinstance(scheduler, str):
        return scheduler in ("django", "django_periodic") or scheduler.endswith(":DatabaseScheduler")
    return isinstance(scheduler, type) and issubclass(scheduler, DatabaseScheduler)
