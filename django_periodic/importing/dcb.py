"""Importing from django-celery-beat: the plan (``dcb_plan``) written in one transaction.

New schedules first, then the new tasks (stamped with the next version of the change feed,
so a running beat picks them up), then the updated ones; with ``disable_source``, the
imported tasks are disabled in django-celery-beat's table in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django.db import connections, transaction
from django.utils.translation import gettext_lazy as _

from ..models import PeriodicTask, PeriodicTasks
from ..models.bulkcopy import copies, copy_rows
from ..models.querysets import BATCH, SCHEDULE_FIELDS, chunks
from .dcb_plan import SCHEDULE_MODELS, TASK_FIELDS, Advance, Plan, make_plan, schedule_key
from .dcb_source import Source

#: Tasks created at once after which PostgreSQL's statistics are refreshed.
ANALYZE_AFTER = 1000


def _write_schedules(plan: Plan, using: str) -> None:
    for kind, rows in plan.new_schedules.items():
        model = SCHEDULE_MODELS[kind]
        for chunk in chunks(rows):
            model.objects.using(using).bulk_create(chunk)
        if any(row.pk is None for row in rows):  # databases that return no ids from bulk inserts
            ids = {
                schedule_key(kind, row): row.pk for row in model._base_manager.using(using).order_by("-pk")
            }
            for row in rows:
                row.pk = row.pk if row.pk is not None else ids[schedule_key(kind, row)]
    tasks: Iterable[PeriodicTask] = [*plan.created, *(task for task, _fields in plan.updated)]
    for task in tasks:
        for kind in SCHEDULE_FIELDS:
            ref = getattr(task, f"{kind}_id")
            if ref is not None and ref < 0:
                setattr(task, f"{kind}_id", plan.placeholders[ref].pk)


def _insert(tasks: Sequence[PeriodicTask], using: str) -> None:
    """INSERT the tasks, each value prepared by its field as the ORM does.

    COPY on PostgreSQL with psycopg 3 (as the run ledger does: several times faster than
    a multi-row INSERT), executemany elsewhere (SQLite loops in C, MySQL's driver makes
    it one multi-row INSERT).
    """
    connection = connections[using]
    meta = PeriodicTask._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key and f.column]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    rows = [[f.get_db_prep_save(f.pre_save(task, True), connection) for f in fields] for task in tasks]
    with connection.cursor() as cursor:
        if copies(connection):
            sql = f"COPY {table} ({columns}) FROM STDIN"
            cursor._execute_with_wrappers(sql, rows, many=True, executor=copy_rows)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


def write(plan: Plan, using: str, advance: Advance) -> None:
    """Write the plan (call inside the transaction that read it)."""
    _write_schedules(plan, using)
    if plan.created:
        # The plan validated each task and kept the reason of each it refused; the
        # queryset's bulk_create would validate them all again, and the ORM's insert
        # compiler costs more than the rest of the import. So the new tasks are stamped
        # with the next version here, as bulk_create does, and inserted with executemany.
        version = PeriodicTasks.next_version(using)
        for chunk in chunks(plan.created, BATCH):
            for task in chunk:
                task.version = version
            _insert(chunk, using)
            advance(len(chunk))
    updated = [task for task, _fields in plan.updated]
    for chunk in chunks(updated, BATCH):
        PeriodicTask.objects.using(using).bulk_update(chunk, TASK_FIELDS)
        advance(len(chunk))


def import_dcb(
    using: str,
    *,
    dry_run: bool = False,
    disable_source: bool = False,
    progress: Callable[[str, int], Advance] = lambda label, total: lambda n: None,
) -> Plan:
    """Import django-celery-beat's schedules on database ``using``; returns what was done.

    ``progress(label, total)`` is called at the start of each phase and returns the
    function that advances it.
    """
    source = Source(using)
    total = source.count("task")
    if dry_run:
        return make_plan(source, using, progress(str(_("Reading")), total))
    with transaction.atomic(using=using):
        if disable_source:
            source.lock_tasks()
        plan = make_plan(source, using, progress(str(_("Reading")), total))
        write(plan, using, progress(str(_("Writing")), len(plan.created) + len(plan.updated)))
        if disable_source:
            plan.disabled_in_source = source.disable(plan.source_ids, BATCH)
    connection = connections[using]
    if connection.vendor == "postgresql" and len(plan.created) >= ANALYZE_AFTER:
        # Without fresh statistics the planner reads the whole table for the change feed's
        # range condition until autovacuum comes by.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + connection.ops.quote_name(PeriodicTask._meta.db_table))
    return plan
