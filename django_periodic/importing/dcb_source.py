"""django-celery-beat's tables, read whether or not that app is still installed.

Its columns changed between versions 2.0 and 2.9 (a crontab's ``timezone``, a task's
``headers``, ``expire_seconds``, ``clocked``...), so the columns a table has are read
from the database and a model is built for just those, on a registry of its own: the
ORM then converts each backend's values (SQLite's text datetimes, MySQL's naive ones,
decimals, booleans) as it would for django-celery-beat's own models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.apps.registry import Apps
from django.db import connections, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PREFIX = "django_celery_beat_"
TASK_TABLE = PREFIX + "periodictask"
CHANGES_TABLE = PREFIX + "periodictasks"

_Field = Callable[[], models.Field]


def _text() -> models.Field:
    return models.TextField(null=True)


def _integer() -> models.Field:
    return models.BigIntegerField(null=True)


def _boolean() -> models.Field:
    return models.BooleanField(null=True)


def _datetime() -> models.Field:
    return models.DateTimeField(null=True)


def _decimal() -> models.Field:
    return models.DecimalField(max_digits=9, decimal_places=6, null=True)


#: The columns we read, by table, with the field that reads each; absent ones are skipped.
COLUMNS: dict[str, dict[str, _Field]] = {
    "interval": {"every": _integer, "period": _text},
    "crontab": {
        "minute": _text,
        "hour": _text,
        "day_of_week": _text,
        "day_of_month": _text,
        "month_of_year": _text,
        "timezone": _text,
    },
    "solar": {"event": _text, "latitude": _decimal, "longitude": _decimal},
    "clocked": {"clocked_time": _datetime},
    "task": {
        "name": _text,
        "task": _text,
        "interval_id": _integer,
        "crontab_id": _integer,
        "solar_id": _integer,
        "clocked_id": _integer,
        "args": _text,
        "kwargs": _text,
        "queue": _text,
        "exchange": _text,
        "routing_key": _text,
        "headers": _text,
        "priority": _integer,
        "expires": _datetime,
        "expire_seconds": _integer,
        "one_off": _boolean,
        "start_time": _datetime,
        "enabled": _boolean,
        "last_run_at": _datetime,
        "total_run_count": _integer,
        "description": _text,
    },
}
TABLES = {kind: PREFIX + ("periodictask" if kind == "task" else f"{kind}schedule") for kind in COLUMNS}
#: Without these a table cannot be read at all.
REQUIRED = {
    "interval": {"every", "period"},
    "crontab": {"minute", "hour", "day_of_week", "day_of_month", "month_of_year"},
    "solar": {"event", "latitude", "longitude"},
    "clocked": {"clocked_time"},
    "task": {"name", "task", "enabled"},
}


class SourceError(Exception):
    """django-celery-beat's tables are absent or not what they should be."""


class Source:
    """django-celery-beat's tables on one database: what exists, and models to read them."""

    def __init__(self, using: str) -> None:
        self.using = using
        connection = connections[using]
        with connection.cursor() as cursor:
            present = set(connection.introspection.table_names(cursor))
            if TASK_TABLE not in present:
                raise SourceError(
                    _(
                        "django-celery-beat's table %(table)s is not in the database %(database)s. "
                        "Run the import against the database django-celery-beat used "
                        "(--database), before removing its tables."
                    )
                    % {"table": TASK_TABLE, "database": using}
                )
            self.columns = {
                kind: self._columns(connection, cursor, kind) for kind in COLUMNS if TABLES[kind] in present
            }
        self.has_changes_row = CHANGES_TABLE in present
        registry = Apps(installed_apps=())
        self.models = {kind: _model(registry, kind, columns) for kind, columns in self.columns.items()}
        if self.has_changes_row:
            self.models["changes"] = _changes_model(registry)

    @staticmethod
    def _columns(connection: Any, cursor: Any, kind: str) -> list[str]:
        table = TABLES[kind]
        found = {column.name for column in connection.introspection.get_table_description(cursor, table)}
        missing = sorted(REQUIRED[kind] - found)
        if missing:
            raise SourceError(
                _("The table %(table)s lacks the column(s) %(columns)s: it is not django-celery-beat's.")
                % {"table": table, "columns": ", ".join(missing)}
            )
        return [name for name in COLUMNS[kind] if name in found]

    def rows(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every row of one table as a dict (``id`` plus the columns it has), in id order."""
        model = self.models.get(kind)
        if model is None:  # e.g. no clocked table before django-celery-beat 1.5
            return iter(())
        fields = ["id", *self.columns[kind]]
        return model._base_manager.using(self.using).order_by("id").values(*fields).iterator(chunk_size=2000)

    def count(self, kind: str) -> int:
        model = self.models.get(kind)
        return model._base_manager.using(self.using).count() if model is not None else 0

    def lock_tasks(self) -> None:
        """Lock every task row until the transaction ends, where the database can.

        django-celery-beat writes run state back to these rows; the lock makes that
        write wait for the import's commit, after which the rows are disabled.
        """
        if connections[self.using].features.has_select_for_update:
            model = self.models["task"]
            list(model._base_manager.using(self.using).select_for_update().values_list("id", flat=True))

    def disable(self, ids: list[int], batch: int) -> int:
        """Disable these tasks in django-celery-beat's table and tell its beat."""
        model = self.models["task"]
        disabled = 0
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            disabled += model._base_manager.using(self.using).filter(id__in=chunk).update(enabled=False)
        if self.has_changes_row:
            changes = self.models["changes"]._base_manager.using(self.using)
            if not changes.filter(ident=1).update(last_update=timezone.now()):
                changes.create(ident=1, last_update=timezone.now())
        return disabled


def _model(registry: Apps, kind: str, columns: list[str]) -> type[models.Model]:
    attrs: dict[str, Any] = {name: COLUMNS[kind][name]() for name in columns}
    attrs["id"] = models.BigAutoField(primary_key=True)
    attrs["Meta"] = type("Meta", (), {"apps": registry, "app_label": "dcb_source", "db_table": TABLES[kind]})
    attrs["__module__"] = __name__
    return type(f"Source{kind.title()}", (models.Model,), attrs)


def _changes_model(registry: Apps) -> type[models.Model]:
    attrs: dict[str, Any] = {
        "ident": models.SmallIntegerField(primary_key=True),
        "last_update": models.DateTimeField(),
        "Meta": type("Meta", (), {"apps": registry, "app_label": "dcb_source", "db_table": CHANGES_TABLE}),
        "__module__": __name__,
    }
    return type("SourceChanges", (models.Model,), attrs)
