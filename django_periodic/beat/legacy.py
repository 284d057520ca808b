"""Beat's logger and django-celery-beat's module-level names in ``schedulers``.

Code and test suites written for django-celery-beat import or patch these names on
``django_celery_beat.schedulers``; :mod:`django_periodic.schedulers` re-exports them.
Patching ``aware_now`` does not move beat's clock: pass ``clock=`` to the scheduler or
set ``DJANGO_PERIODIC["CLOCK"]``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from multiprocessing.util import Finalize

from django.conf import settings
from django.utils import timezone

from ..conf import utc_now as aware_now
from ..timing.schedules import NEVER_CHECK_TIMEOUT, clocked

__all__ = [
    "ADD_ENTRY_ERROR",
    "NEVER_CHECK_TIMEOUT",
    "Finalize",
    "aware_now",
    "clocked",
    "debug",
    "info",
    "logger",
    "make_aware",
    "now",
    "warning",
]

#: Beat's logger: every line beat writes goes through it.
logger = logging.getLogger("django_periodic.beat")
debug, info, warning = logger.debug, logger.info, logger.warning

#: django-celery-beat's log template for an entry it could not store: (name, error, entry).
ADD_ENTRY_ERROR = "Cannot add entry %r to database schedule: %r. Contents: %r"


def make_aware(value: datetime) -> datetime:
    """``value`` in ``TIME_ZONE``, as django-celery-beat has it: a naive value is read
    as UTC when ``USE_TZ`` is on (Django stores UTC then), else in ``TIME_ZONE``."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC if settings.USE_TZ else timezone.get_default_timezone())
    return value.astimezone(timezone.get_default_timezone())


def now() -> datetime:
    """The current time, aware, in ``TIME_ZONE``."""
    return timezone.localtime(timezone.now()) if settings.USE_TZ else make_aware(timezone.now())
