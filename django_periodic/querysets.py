"""django-celery-beat's ``querysets`` names (compatibility): see :mod:`.models.querysets`."""

from .models.querysets import PeriodicTaskQuerySet

__all__ = ["PeriodicTaskQuerySet"]
