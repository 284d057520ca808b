"""The one send path: beat and the admin's "run now" both send through here."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from celery import Celery
from celery.result import AsyncResult

#: Namespace of the run identities: a run's task id is uuid5(namespace, "pk@slot").
RUN_NAMESPACE = uuid.UUID("7f0b2f7e-5a55-4c1d-9b5e-0d6a3b9f3c21")


def run_task_id(task_pk: Any, slot: datetime | str) -> str:
    """The Celery task id of the run of periodic task ``task_pk`` scheduled at ``slot``.

    ``uuid.uuid5(RUN_NAMESPACE, f"{task_pk}@{slot.isoformat()}")`` as a string, built
    without the ``UUID`` object (beat makes one per run). ``slot`` may be given as
    its ISO text already.
    """
    iso = slot if isinstance(slot, str) else slot.isoformat()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{task_pk}@{iso}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_NAMESPACE_BYTES = RUN_NAMESPACE.bytes


def task_options(periodic_task: Any) -> dict[str, Any]:
    """The ``apply_async`` options of a periodic task row (or anything with its fields).

    Unset queue, exchange and routing key are left out so Celery's own routing
    (``task_routes``) applies. Headers carry ``periodic_task_name``.
    """
    return message_options(
        periodic_task.name,
        getattr(periodic_task, "options", None),
        periodic_task.headers,
        periodic_task.queue,
        periodic_task.exchange,
        periodic_task.routing_key,
        periodic_task.priority,
        periodic_task.expires or periodic_task.expire_seconds,
    )


def message_options(
    name: str,
    options: dict[str, Any] | None,
    headers: dict[str, Any] | None,
    queue: str | None,
    exchange: str | None,
    routing_key: str | None,
    priority: int | None,
    expires: Any,
) -> dict[str, Any]:
    """:func:`task_options` from the column values."""
    merged: dict[str, Any] = dict(options or {})
    for key, value in (("queue", queue), ("exchange", exchange), ("routing_key", routing_key),
                       ("priority", priority)):  # fmt: skip
        if value is not None and value != "":
            merged[key] = value
    if expires:
        merged["expires"] = expires
    merged["headers"] = {**(headers or {}), "periodic_task_name": name}
    return merged


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
