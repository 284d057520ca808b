"""The test project with django-celery-beat installed alongside, as a project has it mid-switch.

Used to create django-celery-beat's tables with its own migrations and rows with its own
models (tests/support/dcb_seed.py, benchmarks/dcb_import.py); the normal settings do not
install it.
"""

from .settings import *  # noqa: F403
from .settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_celery_beat"]
# django-celery-beat alongside is the point here: its warning that it owns `-S django` is expected.
SILENCED_SYSTEM_CHECKS = ["django_periodic.W001"]
