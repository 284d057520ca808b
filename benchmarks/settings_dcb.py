"""Settings of the django-celery-beat side (run in benchmarks/.venv-dcb)."""

from settings_base import *  # noqa: F403

INSTALLED_APPS = ["django_celery_beat"]
