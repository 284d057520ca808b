"""System checks: each misconfiguration has a stable id and a hint naming the fix."""

from __future__ import annotations

import importlib.util
from importlib import metadata
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.translation import gettext as _

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


def check_metrics(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E010: metrics are on but prometheus-client is missing; E011: the port is not a port."""
    from .conf import app_settings

    port = app_settings.METRICS_PORT
    if port is None:
        return []
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        return [
            Error(
                _("DJANGO_PERIODIC['METRICS_PORT'] is %(port)r, not a TCP port number.") % {"port": port},
                hint=_("Set it to a port from 1 to 65535, or to None to turn beat's metrics off."),
                id="django_periodic.E011",
            )
        ]
    if importlib.util.find_spec("prometheus_client") is None:
        return [
            Error(
                _("DJANGO_PERIODIC['METRICS_PORT'] is set, but prometheus-client is not installed."),
                hint=_(
                    "Install the metrics extra (pip install 'django-periodic[metrics]'), "
                    "or set METRICS_PORT to None."
                ),
                id="django_periodic.E010",
            )
        ]
    return []
