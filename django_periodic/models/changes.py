"""The change feed: an integer version counter and deletion records.

Every write to a periodic task, or to a schedule row that tasks point to, takes
the next version from the single :class:`PeriodicTasks` row *in the same
transaction* and stamps it on the rows it touches. The counter row stays locked
until that transaction commits, so versions become visible in the order they
were taken, and a reader holding version V can ask "what changed after V" at a
cost proportional to the changes:

* rows of ``PeriodicTask`` with ``version > V`` (created or edited),
* rows of :class:`PeriodicTaskDeletion` with ``version > V`` (deleted),
* ``reset_version > V``: something changed that could not be described row by
  row (raw SQL followed by :meth:`PeriodicTasks.update_changed`), so read all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, connections, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TRACKER_IDENT = 1


class FeedState(NamedTuple):
    """What one poll of the counter row says."""

    version: int
    reset_version: int


class PeriodicTasks(models.Model):
    """The single change-tracking row (``ident=1``), as django-celery-beat has it."""

    ident = models.SmallIntegerField(default=TRACKER_IDENT, primary_key=True, unique=True)
    last_update = models.DateTimeField(null=False)
    version = models.BigIntegerField(default=0)
    reset_version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("periodic task track")
        verbose_name_plural = _("periodic task tracks")

    def __str__(self) -> str:
        return f"version {self.version} ({self.last_update:%Y-%m-%d %H:%M:%S})"

    @classmethod
    def next_version(cls, using: str | None = None, *, reset: bool = False) -> int:
        """Take the next version; call inside the transaction that writes the change."""
        using = using or "default"
        if not transaction.get_connection(using).in_atomic_block:
            raise RuntimeError("next_version() must run inside the writing transaction")
        values: dict[str, Any] = {"version": F("version") + 1, "last_update": timezone.now()}
        rows = cls._base_manager.using(using).filter(ident=TRACKER_IDENT)
        if not rows.update(**values):
            try:
                with transaction.atomic(using=using):
                    cls._base_manager.using(using).create(
                        ident=TRACKER_IDENT, version=0, last_update=timezone.now()
                    )
            except IntegrityError:  # another writer created it first
                pass
            rows.update(**values)
        version: int = rows.values_list("version", flat=True).get()
        if reset:
            # A separate statement: MySQL reads columns already assigned in the same SET.
            rows.update(reset_version=version)
        return version

    @classmethod
    def update_changed(cls, using: str | None = None) -> int:
        """Tell beat that something changed that it must re-read in full.

        The one call to make after raw SQL or a data migration with historical
        models has changed tasks or schedules. Returns the new version.
        """
        with transaction.atomic(using=using):
            return cls.next_version(using, reset=True)

    @classmethod
    def changed(cls, instance: Any = None, **kwargs: Any) -> None:
        """django-celery-beat's hook: same as :meth:`update_changed` unless ``no_changes``."""
        if not getattr(instance, "no_changes", False):
            cls.update_changed(kwargs.get("using"))

    @classmethod
    def last_change(cls, using: str | None = None) -> datetime | None:
        """When the last change was recorded, or None."""
        row = cls._base_manager.using(using or "default").filter(ident=TRACKER_IDENT).first()
        return row.last_update if row else None

    @classmethod
    def state(cls, using: str | None = None) -> FeedState:
        """One indexed single-row read: the current version and reset version.

        Beat calls this every poll, so it skips the ORM's query building (most of an
        idle beat's CPU otherwise).
        """
        connection = connections[using or "default"]
        key = (connection.vendor, cls._meta.db_table)
        sql = _STATE_SQL.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            sql = _STATE_SQL[key] = "SELECT {}, {} FROM {} WHERE {} = %s".format(
                quote("version"), quote("reset_version"), quote(cls._meta.db_table), quote("ident")
            )
        with connection.cursor() as cursor:
            cursor.execute(sql, [TRACKER_IDENT])
            row = cursor.fetchone()
        return FeedState(int(row[0]), int(row[1])) if row else FeedState(0, 0)


#: The poll statement by (database vendor, table) (see PeriodicTasks.state)
_STATE_SQL: dict[tuple[str, str], str] = {}


class PeriodicTaskDeletion(models.Model):
    """A deleted task, kept so beat can drop it without reading the whole table."""

    task_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    version = models.BigIntegerField(db_index=True)
    deleted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("periodic task deletion")
        verbose_name_plural = _("periodic task deletions")

    def __str__(self) -> str:
        return f"{self.name} (deleted at version {self.version})"

    @classmethod
    def prune(cls, older_than: timedelta, using: str | None = None) -> int:
        """Forget deletions older than ``older_than``; returns how many."""
        cutoff = timezone.now() - older_than
        deleted, _details = cls._base_manager.using(using or "default").filter(deleted_at__lt=cutoff).delete()
        return deleted
