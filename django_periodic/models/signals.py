"""Signal handlers for the write paths that bypass ``save()`` and ``QuerySet`` methods.

* deletes (model, queryset and cascades from schedule rows) leave a deletion record;
* ``loaddata`` saves raw rows: their version is taken anew, and a loaded counter row
  never takes the counter back.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .changes import PeriodicTaskDeletion, PeriodicTasks
from .querysets import bump_tasks_using, lock_counter


def record_task_deletion(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    """post_delete of a PeriodicTask: leave a deletion record at a new version."""
    with transaction.atomic(using=using):
        PeriodicTaskDeletion._base_manager.using(using).create(
            task_id=instance.pk,
            name=instance.name,
            version=PeriodicTasks.next_version(using),
        )


def restamp_loaded_task(sender: Any, instance: Any, raw: bool, using: str, **kwargs: Any) -> None:
    """post_save of a PeriodicTask loaded by ``loaddata``: give it a fresh version."""
    if raw:
        with transaction.atomic(using=using):
            sender._base_manager.using(using).filter(pk=instance.pk).update(
                version=PeriodicTasks.next_version(using)
            )


def restamp_loaded_schedule(sender: Any, instance: Any, raw: bool, using: str, **kwargs: Any) -> None:
    """post_save of a schedule row loaded by ``loaddata``: new version for its tasks."""
    if raw:
        with transaction.atomic(using=using):
            bump_tasks_using(sender, [instance.pk], using)


def keep_loaded_counter_ahead(sender: Any, instance: Any, raw: bool, using: str, **kwargs: Any) -> None:
    """pre_save of the counter row loaded by ``loaddata``: it moves forward, as a reset.

    A fixture made elsewhere carries that database's version; written as it is, it could
    take this counter back below what a running beat holds, and beat would miss the
    changes after it. The row takes the next version past both instead, and asks beat to
    re-read everything, since a fixture may have rewritten any row.
    """
    if raw:
        rows = sender._base_manager.using(using).select_for_update().filter(pk=instance.pk)
        current = rows.values_list("version", flat=True).first() or 0
        instance.version = max(current, instance.version or 0) + 1
        instance.reset_version = instance.version
        instance.last_update = timezone.now()


def lock_counter_before_loaded_row(sender: Any, instance: Any, raw: bool, using: str, **kwargs: Any) -> None:
    """pre_save of a task or schedule row loaded by ``loaddata``: take the counter before the
    row, as every write path does (``loaddata`` holds one transaction for the fixture)."""
    if raw and transaction.get_connection(using).in_atomic_block:
        lock_counter(using)
