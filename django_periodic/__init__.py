"""django-periodic: a database-backed periodic task scheduler for Celery beat."""

__version__ = "0.1.0"
