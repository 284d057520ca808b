"""A runnable Django + Celery project that uses django_periodic (demo and tests)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
