"""The one send path: beat and the admin's "run now" both send through here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from celery import Celery
from celery.result import AsyncResult

#: Namespace of the run identities: a run's task id is uuid5(namespace, "pk@slot").
RUN_NAMESPACE = uuid.UUID("7f0b2f7e-5a55-4c1d-9b5e-0d6a3b9f3c21")

_MESSAGE_OPTIONS = ("queue", "exchange", "routing_key", "priority")


def run_task_id(task_pk: Any, slot: datetime) -> str:
    """The Celery task id of the run of periodic task ``task_pk`` scheduled at ``slot``."""
    return str(uuid.uuid5(RUN_NAMESPACE, f"{task_pk}@{slot.isoformat()}"))


def task_options(periodic_task: Any) -> dict[str, Any]:
    """The ``apply_async`` options of a periodic task row (or anything with its fields).

    Unset queue, exchange and routing key are left out so Celery's own routing
    (``task_routes``) applies. Headers carry ``periodic_task_name``.
    """
    options: dict[str, Any] = dict(getattr(periodic_task, "options", None) or {})
    for name in _MESSAGE_OPTIONS:
        value = getattr(periodic_task, name, None)
        if value is not None and value != "":
            options[name] = value
    expires = periodic_task.expires or periodic_task.expire_seconds
    if expires:
        options["expires"] = expires
    headers = dict(periodic_task.headers or {})
    headers["periodic_task_name"] = periodic_task.name
    options["headers"] = headers
    return options


def send(
    app: Celery,
    task: str,
    args: list[Any],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    task_id: str | None = None,
    producer: Any = None,
) -> AsyncResult:
    """Send one run: through the registered task if this process knows it, else by name."""
    # Celery merges ``headers`` into the message headers, which the worker exposes
    # as attributes of ``task.request`` (django-celery-results reads
    # ``request.periodic_task_name``).
    registered = app.tasks.get(task)
    if registered is not None:
        return registered.apply_async(args, kwargs, task_id=task_id, producer=producer, **options)
    return app.send_task(task, args, kwargs, task_id=task_id, producer=producer, **options)
