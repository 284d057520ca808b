"""QuerySets whose write paths move the change counter in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from .changes import PeriodicTasks
from .dbtime import key_text

SCHEDULE_FIELDS = ("interval", "crontab", "solar", "clocked")
#: Who paused a disabled task, when and why: written with ``enabled``, cleared on enable.
PAUSE_FIELDS = ("paused_at", "paused_by", "paused_reason")

#: The values that identify a schedule row (its natural key), by the task field that points at it.
NATURAL_KEYS = {
    "interval": ("every", "period"),
    "crontab": ("minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone"),
    "solar": ("event", "latitude", "longitude"),
    "clocked": ("clocked_time",),
}

#: Rows per statement wherever rows are written or read by id in batches: keeps every
#: backend far below its bound-parameter limit.
BATCH = 1000


def natural_key_of(row: Any) -> tuple[Any, ...]:
    """A schedule row's natural key: its values, with time zones, decimals and times as text."""
    return tuple(key_text(getattr(row, name)) for name in NATURAL_KEYS[row.task_field])


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    """``items`` in slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _task_model() -> Any:
    """The task model, from the app registry: it points at the schedules, so the
    schedules' querysets look it up instead of importing it (no import cycle)."""
    return apps.get_model("django_periodic", "PeriodicTask")


def _validated(objs: Iterable[Any]) -> list[Any]:
    """Run each object's save()-time validation, as bulk writes skip save()."""
    objs = list(objs)
    for obj in objs:
        obj.validate_for_save()
    return objs


class CounterFirst:
    """``update_or_create`` takes the change counter before Django locks the row it looks up
    (``select_for_update``), so it keeps the lock order every write path keeps."""

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        with transaction.atomic(using=self.db):  # type: ignore[attr-defined]
            lock_counter(self.db)  # type: ignore[attr-defined]
            return super().update_or_create(*args, **kwargs)  # type: ignore[misc]


class PeriodicTaskQuerySet(CounterFirst, models.QuerySet):
    """Tasks: ``update``, ``delete``, ``bulk_create`` and ``bulk_update`` stamp a version."""

    def get_by_natural_key(self, name: str) -> Any:
        """The task of this name (``loaddata`` with natural keys)."""
        return self.get(name=name)

    def enabled(self) -> PeriodicTaskQuerySet:
        """Enabled tasks with their schedule rows (one query per kind of schedule).

        Many tasks share few schedule rows: reading each distinct row once is much
        cheaper than joining it into every task row.
        """
        return self.filter(enabled=True).prefetch_related(*SCHEDULE_FIELDS)

    def update(self, **kwargs: Any) -> int:
        if self.query.is_empty():  # .none(): nothing to write, no version to take
            return 0
        with transaction.atomic(using=self.db):
            kwargs["version"] = PeriodicTasks.next_version(self.db)
            kwargs.setdefault("date_changed", timezone.now())
            if kwargs.get("enabled") is False:
                kwargs.setdefault("last_run_at", None)
            elif kwargs.get("enabled") is True:
                kwargs.update(paused_at=None, paused_by="", paused_reason="")
            return super().update(**kwargs)

    update.alters_data = True  # type: ignore[attr-defined]

    def pause(self, by: str, reason: str = "") -> int:
        """Disable the enabled tasks here, recording who paused them (``by``), now and why.

        Returns how many were paused; tasks disabled already keep their record.
        """
        return self.filter(enabled=True).update(
            enabled=False, paused_at=timezone.now(), paused_by=by[:200], paused_reason=reason[:500]
        )

    pause.alters_data = True  # type: ignore[attr-defined]

    def resume(self) -> int:
        """Enable the disabled tasks here and forget their pause; returns how many."""
        return self.filter(enabled=False).update(enabled=True)

    resume.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        # Deletion records are written by the post_delete handler (signals.py), which
        # also sees cascades from schedule rows; one transaction holds them all. The
        # counter is locked first, as every write path does (see lock_counter).
        with transaction.atomic(using=self.db):
            lock_counter(self.db)
            return super().delete()

    delete.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = _validated(objs)
        if kwargs.get("update_conflicts") and kwargs.get("update_fields"):
            # rows updated on conflict are edits too: they take the new version
            kwargs["update_fields"] = [*dict.fromkeys([*kwargs["update_fields"], "version", "date_changed"])]
        with transaction.atomic(using=self.db):
            version = PeriodicTasks.next_version(self.db)
            now = timezone.now()
            for obj in objs:
                obj.version, obj.date_changed = version, now
            return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], *args: Any, **kwargs: Any) -> int:
        objs = _validated(objs)
        now = timezone.now()
        with transaction.atomic(using=self.db):
            version = PeriodicTasks.next_version(self.db)
            for obj in objs:
                obj.version, obj.date_changed = version, now
            fields = {*fields, "version", "date_changed"}
            if "enabled" in fields:  # written with enabled, as save() does
                fields |= {"last_run_at", *PAUSE_FIELDS}
            return super().bulk_update(objs, fields, *args, **kwargs)


class ScheduleQuerySet(CounterFirst, models.QuerySet):
    """Schedule rows: an edit moves the version of every task that points to them."""

    def get_by_natural_key(self, *values: Any) -> Any:
        """The row with these values; of equal rows, the first created (lowest pk)."""
        model: Any = self.model
        fields = NATURAL_KEYS[model.task_field]
        if len(values) != len(fields):
            raise model.DoesNotExist(f"a {model.__name__} key has {len(fields)} values: {fields}")
        row = self.filter(**dict(zip(fields, values, strict=True))).order_by("pk").first()
        if row is None:
            raise model.DoesNotExist(f"no {model.__name__} has the values {values!r}")
        return row

    def update(self, **kwargs: Any) -> int:
        with transaction.atomic(using=self.db):
            version = lock_counter(self.db)
            pks = list(self.values_list("pk", flat=True))
            count = super().update(**kwargs)
            if pks:
                bump_tasks_using(self.model, pks, self.db, version)
            return count

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        # Tasks first, as ScheduleModel.delete() explains.
        field = self.model.task_field  # type: ignore[attr-defined]
        with transaction.atomic(using=self.db):
            lock_counter(self.db)
            _task_model().objects.using(self.db).filter(**{f"{field}__in": self}).delete()
            return super().delete()

    delete.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = _validated(objs)
        if not kwargs.get("update_conflicts"):
            return super().bulk_create(objs, *args, **kwargs)
        # rows updated on conflict are schedule edits: their tasks take the new version
        with transaction.atomic(using=self.db):
            version = lock_counter(self.db)
            created = super().bulk_create(objs, *args, **kwargs)
            keys = [obj.pk for obj in created]
            if None in keys:  # MySQL returns no keys for the rows it updated: beat re-reads all
                PeriodicTasks.next_version(self.db, reset=True)
            elif keys:
                bump_tasks_using(self.model, keys, self.db, version)
            return created

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], *args: Any, **kwargs: Any) -> int:
        objs = _validated(objs)
        with transaction.atomic(using=self.db):
            version = lock_counter(self.db)
            count = super().bulk_update(objs, fields, *args, **kwargs)
            if objs:
                bump_tasks_using(self.model, [obj.pk for obj in objs], self.db, version)
            return count


def lock_counter(using: str) -> int:
    """Take a version first thing in a writing transaction: it locks the change counter.

    Every write path takes the counter before it touches a task or schedule row, so two
    writers always lock in the same order (no deadlock between a delete and a save), and
    a schedule edit holds the counter until it commits: a task created on that schedule
    meanwhile commits after it, at a later version, so beat reads it with the new fields.
    """
    return PeriodicTasks.next_version(using)


def bump_tasks_using(
    schedule_model: type[models.Model], pks: list[Any], using: str, version: int | None = None
) -> int:
    """Give a new version to the tasks that use the schedule rows ``pks``.

    The version is taken even when no task uses them (yet): see :func:`lock_counter`.
    """
    field = schedule_model.task_field  # type: ignore[attr-defined]
    if version is None:
        version = PeriodicTasks.next_version(using)
    return _task_model()._base_manager.using(using).filter(**{f"{field}__in": pks}).update(version=version)
