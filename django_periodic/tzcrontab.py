"""django-celery-beat's ``tzcrontab`` names (compatibility): see :mod:`.timing.schedules`."""

from .timing.schedules import TzAwareCrontab

__all__ = ["TzAwareCrontab"]
