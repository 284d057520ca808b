"""App settings, read at access time so ``override_settings`` just works.

Options Celery already owns (``timezone``, ``beat_max_loop_interval``,
``beat_schedule`` ...) are read from the Celery app, never duplicated here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings as django_settings
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Seconds between two looks at the change counter (one indexed single-row read).
    "POLL_INTERVAL": 0.5,
    # Seconds between two full reconciles of the in-memory schedule (a safety net).
    "FULL_RECONCILE_INTERVAL": 3600.0,
    # Longest back-off after a database or broker error, in seconds.
    "MAX_BACKOFF": 30.0,
    # Days a deletion record is kept for beats that fell behind.
    "DELETION_RETENTION_DAYS": 7,
    # Leadership: several beats may run, the lease holder sends. Failover takes at most
    # LEASE_SECONDS + LEASE_RENEW_INTERVAL; a leader stops sending LEASE_DRIFT_MARGIN
    # seconds before its lease can have run out by its own clock.
    "LEASE_NAME": "default",
    "LEASE_SECONDS": 6.0,
    "LEASE_RENEW_INTERVAL": 2.0,
    "LEASE_DRIFT_MARGIN": 0.5,
    # The run ledger (PeriodicTaskRun): beat records every run, workers their outcome.
    "RUN_LEDGER": True,
    # Runs kept: the newest RUNS_KEEP_PER_TASK per task, none older than RUNS_KEEP_DAYS
    # (None turns either rule off). Beat prunes in bounded batches when it is idle.
    "RUNS_KEEP_PER_TASK": 100,
    "RUNS_KEEP_DAYS": 30,
    # Seconds after which an unfinished run stops blocking a task whose overlap is "skip".
    "OVERLAP_TIMEOUT": 3600,
    # Dotted path to a callable returning beat's "now" (aware); None for the real clock.
    # Tests and demos use it to move time; production leaves it unset.
    "CLOCK": None,
    # Liveness: each beat touches a file here at every tick (no database write), which
    # `periodic_tasks health --this-host` reads. None: a django-periodic folder in the
    # system's temporary directory.
    "HEARTBEAT_DIR": None,
    # Prometheus metrics (the "metrics" extra): the port beat serves /metrics on (None: off)
    # and the address it listens on.
    "METRICS_PORT": None,
    "METRICS_ADDRESS": "0.0.0.0",
}


class Settings:
    """``settings.DJANGO_PERIODIC = {...}`` over :data:`DEFAULTS`."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        overrides = getattr(django_settings, "DJANGO_PERIODIC", None) or {}
        return overrides.get(name, DEFAULTS[name])


app_settings = Settings()


def configured_clock() -> Callable[[], datetime]:
    """The clock beat and the admin preview read: ``DJANGO_PERIODIC["CLOCK"]`` or UTC now."""
    if app_settings.CLOCK:
        clock: Callable[[], datetime] = import_string(app_settings.CLOCK)
        return clock
    return utc_now


def current_time() -> datetime:
    """Now, by :func:`configured_clock`."""
    return configured_clock()()


def utc_now() -> datetime:
    """The real clock, aware UTC."""
    return datetime.now(UTC)
