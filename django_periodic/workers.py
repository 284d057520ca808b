"""The worker side of the run ledger: started, succeeded, failed and retried runs.

``DjangoPeriodicConfig.ready()`` connects these handlers to Celery's task signals, so a
worker whose Django project has ``django_periodic`` installed records the outcome of every
message that carries a run's identity (the ``periodic_task_name`` header beat and "run
now" put on each message), one short ``UPDATE`` per state change. Tasks sent by name to
a worker that does not import them are recorded all the same, since the signals come
from the worker, not the task's module.

The ledger never fails or slows a task for long: a database error is logged and the
worker stops writing to the ledger for a while (the run then stays "sent").
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import Error as DatabaseError
from django.db.models import F
from django.utils import timezone

from .conf import app_settings
from .models import PeriodicTaskRun
from .models.runs import FINAL_STATES, RunStatus

logger = logging.getLogger("django_periodic.workers")

#: Seconds the ledger is left alone after a database error.
PAUSE_AFTER_ERROR = 30.0
_paused_until = 0.0


def _is_run(request: Any) -> bool:
    return bool(getattr(request, "periodic_task_name", None)) and bool(app_settings.RUN_LEDGER)


def _write(celery_task_id: str | None, **values: Any) -> None:
    """One UPDATE of the run with this task id, unless it is over already."""
    global _paused_until
    if not celery_task_id or time.monotonic() < _paused_until:
        return
    try:
        PeriodicTaskRun._base_manager.filter(celery_task_id=celery_task_id).exclude(
            state__in=FINAL_STATES
        ).update(**values)
    except DatabaseError as exc:
        _paused_until = time.monotonic() + PAUSE_AFTER_ERROR
        logger.warning(
            "Run ledger not written for task id %s: %s; the ledger is paused for %.0fs, tasks run as usual.",
            celery_task_id,
            exc,
            PAUSE_AFTER_ERROR,
        )


def _request(sender: Any, kwargs: dict[str, Any]) -> Any:
    task = kwargs.get("task") or sender
    return getattr(task, "request", None)


def run_started(sender: Any = None, task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """``task_prerun``: the run started, on this worker."""
    request = getattr(task, "request", None)
    if _is_run(request):
        _write(
            task_id,
            state=RunStatus.STARTED,
            started_at=timezone.now(),
            worker=(getattr(request, "hostname", "") or "")[:255],
        )


def run_succeeded(sender: Any = None, **kwargs: Any) -> None:
    """``task_success``: the run finished without an error."""
    request = _request(sender, kwargs)
    if _is_run(request):
        _write(request.id, state=RunStatus.SUCCEEDED, finished_at=timezone.now(), reason="")


def run_failed(sender: Any = None, task_id: str | None = None, exception: Any = None, **kwargs: Any) -> None:
    """``task_failure``: the run raised; the error is kept, short."""
    request = _request(sender, kwargs)
    if _is_run(request):
        _write(task_id, state=RunStatus.FAILED, finished_at=timezone.now(), reason=_short(exception))


def run_retried(sender: Any = None, request: Any = None, reason: Any = None, **kwargs: Any) -> None:
    """``task_retry``: the task asked to be retried; the run goes on under the same id."""
    if _is_run(request):
        _write(request.id, state=RunStatus.RETRIED, retries=F("retries") + 1, reason=_short(reason))


def _short(error: Any) -> str:
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else f"{error or ''}"
    return text[:255]
