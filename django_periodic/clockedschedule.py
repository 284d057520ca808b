"""django-celery-beat's ``clockedschedule`` names (compatibility): see :mod:`.timing.schedules`."""

from .timing.schedules import clocked

__all__ = ["clocked"]
