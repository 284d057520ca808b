"""Settings of the django-periodic side (run in benchmarks/.venv-dp)."""

from settings_base import *  # noqa: F403

INSTALLED_APPS = ["django_periodic"]
