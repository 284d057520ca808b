"""QuerySets whose write paths move the change counter in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from .changes import PeriodicTasks

SCHEDULE_FIELDS = ("interval", "crontab", "solar", "clocked")

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


class PeriodicTaskQuerySet(models.QuerySet):
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
        with transaction.atomic(using=self.db):
            kwargs["version"] = PeriodicTasks.next_version(self.db)
            kwargs.setdefault("date_changed", timezone.now())
            if kwargs.get("enabled") is False:
                kwargs.setdefault("last_run_at", None)
            return super().update(**kwargs)

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        # Deletion records are written by the post_delete handler (signals.py), which
        # also sees cascades from schedule rows; one transaction holds them all.
        with transaction.atomic(using=self.db):
            return super().delete()

    delete.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = _validated(objs)
        with transaction.atomic(using=self.db):
            version = PeriodicTasks.next_version(self.db)
            for obj in objs:
                obj.version = version
            return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], *args: Any, **kwargs: Any) -> int:
        objs = _validated(objs)
        now = timezone.now()
        with transaction.atomic(using=self.db):
            version = PeriodicTasks.next_version(self.db)
            for obj in objs:
                obj.version, obj.date_changed = version, now
            fields = {*fields, "version", "date_changed"}
            return super().bulk_update(objs, fields, *args, **kwargs)


class ScheduleQuerySet(models.QuerySet):
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

    def _bump_tasks(self, pks: list[Any]) -> None:
        if pks:
            bump_tasks_using(self.model, pks, self.db)

    def update(self, **kwargs: Any) -> int:
        with transaction.atomic(using=self.db):
            pks = list(self.values_list("pk", flat=True))
            count = super().update(**kwargs)
            self._bump_tasks(pks)
            return count

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        # Tasks first, as ScheduleModel.delete() explains.
        field = self.model.task_field  # type: ignore[attr-defined]
        with transaction.atomic(using=self.db):
            _task_model().objects.using(self.db).filter(**{f"{field}__in": self}).delete()
            return super().delete()

    delete.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = _validated(objs)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], *args: Any, **kwargs: Any) -> int:
        objs = _validated(objs)
        with transaction.atomic(using=self.db):
            count = super().bulk_update(objs, fields, *args, **kwargs)
            self._bump_tasks([obj.pk for obj in objs])
            return count


def bump_tasks_using(schedule_model: type[models.Model], pks: list[Any], using: str) -> int:
    """Give a new version to the tasks that use the schedule rows ``pks``."""
    field = schedule_model.task_field  # type: ignore[attr-defined]
    tasks = _task_model()._base_manager.using(using).filter(**{f"{field}__in": pks})
    if not tasks.exists():
        return 0
    return tasks.update(version=PeriodicTasks.next_version(using))
