"""System checks: each misconfiguration has a stable id and a hint naming the fix."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning

SCHEDULER_NAMES = {
    "django",
    "django_periodic",
    "django_periodic.schedulers:DatabaseScheduler",
}


def _django_alias_owner() -> str | None:
    for entry_point in metadata.entry_points(group="celery.beat_schedulers"):
        if entry_point.name == "django":
            return entry_point.value
    return None


def check_django_celery_beat(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W001: django-celery-beat is installed too and may own ``beat -S django``."""
    messages: list[CheckMessage] = []
    owner = _django_alias_owner()
    if owner and not owner.startswith("django_periodic."):
        messages.append(
            Warning(
                "django-celery-beat is installed beside django_periodic and owns the "
                f"'celery beat -S django' alias ({owner}).",
                hint="Start beat with '-S django_periodic', or uninstall django-celery-beat.",
                id="django_periodic.W001",
            )
        )
    return messages


def check_beat_scheduler(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W002: the project's beat scheduler setting points to another scheduler."""
    configured = getattr(settings, "CELERY_BEAT_SCHEDULER", None)
    if configured and configured not in SCHEDULER_NAMES and "django_periodic" not in configured:
        return [
            Warning(
                f"CELERY_BEAT_SCHEDULER is {configured!r}: beat will not read the schedules "
                "stored by django_periodic.",
                hint="Set CELERY_BEAT_SCHEDULER = 'django_periodic.schedulers:DatabaseScheduler'.",
                id="django_periodic.W002",
            )
        ]
    return []
