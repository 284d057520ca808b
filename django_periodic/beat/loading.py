"""Reading task rows into beat's plans: the start-up read, the hourly reconcile, the deltas.

Rows are read as plain tuples of the columns that decide *when* a task runs, in
chunks, so neither model instances nor arguments are built for 100,000 rows.
What rows share is computed once: one schedule object per schedule row, one
:class:`~django_periodic.timing.plans.RunState` per distinct run state (tasks sent in
one batch share their ``last_run_at``), and one first run per (schedule, state).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple

from django.db import Error as DatabaseError
from django.db import connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Case, DateTimeField, F, When

from ..models import PeriodicTaskDeletion
from ..models.dbtime import aware_utc
from ..models.querysets import BATCH, SCHEDULE_FIELDS
from ..models.validators import cron_error
from ..timing.cron import CronFieldError
from ..timing.plans import RunState, first_run
from .plans import PlanQueue, TaskPlan
from .recording import disable, set_load_errors
from .runs import RowError, Run

logger = logging.getLogger("django_periodic.beat")

#: The task columns beat reads to plan a task, in the order :meth:`Loader._plan` unpacks them.
#: The last is the anchor of a task that never ran (its last change): read only for
#: those rows, since a datetime costs more to read than every other column.
COLUMNS = (
    "id", "enabled", "load_error", "interval_id", "crontab_id", "solar_id", "clocked_id",
    "last_run_at", "start_time", "expires", "one_off",
    "missed_runs", "missed_runs_limit", "grace_seconds", "jitter_seconds",
    Case(When(last_run_at__isnull=True, then=F("date_changed")), output_field=DateTimeField()),
)  # fmt: skip
#: Where a column stands in a row of :data:`COLUMNS`: rows are read by name.
ID, LOAD_ERROR = COLUMNS.index("id"), COLUMNS.index("load_error")
SCHEDULE_ID = {kind: COLUMNS.index(f"{kind}_id") for kind in SCHEDULE_FIELDS}


def pages(rows: Any, size: int = 5000) -> Iterator[tuple[Any, ...]]:
    """The tuples of ``rows`` (a ``values_list`` with the id first) in id order, ``size`` per query.

    Keyset pages rather than one cursor: no read stays open while beat plans (on
    SQLite it would hold writers off), and no server-side cursor is needed (which
    connection poolers in transaction mode do not allow). Rows that change between
    two pages carry a newer version than the one read before the load, so the next
    poll reads them again.

    The rows are the database driver's values, not passed through the ORM's
    converters: datetimes may be naive or text, booleans 0/1 (:class:`Loader`
    converts what it uses, once per distinct value).
    """
    rows = rows.order_by("pk")
    last = None
    while True:
        page = (rows if last is None else rows.filter(pk__gt=last))[:size]
        fetched = fetch(page)
        yield from fetched
        if len(fetched) < size:
            return
        last = fetched[-1][0]  # the id comes first


def fetch(rows: Any) -> list[tuple[Any, ...]]:
    """The tuples of a ``values_list`` queryset as the database driver returns them
    (see :func:`pages`), through a cursor fit for many rows."""
    using = rows.db
    sql, params = rows.query.get_compiler(using).as_sql()
    with _cursor(connections[using]) as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _cursor(connection: Any) -> Any:
    """A cursor for reading many rows: on PostgreSQL with psycopg 3, one that asks for
    binary results (several times faster to read than text), unprepared."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return connection.cursor()
    connection.ensure_connection()
    raw = _binary_cursor_class()(connection.connection)
    return (CursorDebugWrapper if connection.queries_logged else CursorWrapper)(raw, connection)


@functools.cache
def _binary_cursor_class() -> Any:
    """psycopg 3's cursor, asking for binary results and never preparing statements."""
    import psycopg

    class BinaryCursor(psycopg.Cursor):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=False, binary=True)

    return BinaryCursor


class Unreadable(NamedTuple):
    """A schedule row that cannot build its Celery schedule, and why."""

    reason: str


class Loader:
    """Turns task rows into :class:`TaskPlan` objects planned at ``now``.

    One loader serves one read (the full read, or one delta): schedule rows are read
    fresh each time, so an edited schedule row is never served from an old copy.
    """

    def __init__(self, model: Any, now: datetime, starting_deadline: float | None, using: str) -> None:
        self.model = model
        self.now = now
        self.starting_deadline = starting_deadline
        self.using = using
        self._schedules: dict[str, dict[Any, Any]] = {kind: {} for kind in SCHEDULE_FIELDS}
        self._intervals = self._schedules["interval"]
        self._crontabs = self._schedules["crontab"]
        self._states: dict[tuple[Any, ...], RunState] = {}
        self._connection_tz = connections[using].timezone
        self._first_runs: dict[tuple[int, int], datetime | None] = {}
        #: task id -> why it cannot be scheduled ("" clears an earlier reason)
        self.errors: dict[Any, str] = {}
        #: tasks that will never run again (expired, or a clocked run that is done)
        self.expired: list[Any] = []

    def plans(self, rows: Iterable[tuple[Any, ...]]) -> Iterator[TaskPlan]:
        """A plan for each enabled row that has a next run; the others are noted."""
        rows = iter(rows)
        while chunk := list(islice(rows, BATCH)):
            self._read_schedules(chunk)
            flagged: dict[Any, TaskPlan] = {}
            for row in chunk:
                plan = self._plan(row)
                if plan is None:
                    continue
                if row[LOAD_ERROR]:  # it has a load_error: cleared only once its message reads too
                    flagged[plan.model_id] = plan
                else:
                    yield plan
            if flagged:
                yield from self._recheck(flagged)

    def _recheck(self, flagged: dict[Any, TaskPlan]) -> Iterator[TaskPlan]:
        """The flagged entries whose message fields read well now; the errors of the others stay."""
        rows = self.model._base_manager.using(self.using).filter(pk__in=list(flagged))
        for row in rows.values_list(*Run.COLUMNS, "load_error"):
            *message, stored_error = row
            task_id = message[0]
            try:
                Run.from_row(tuple(message))
            except Exception as exc:  # RowError, or whatever else one row's fields raise
                reason = f"{exc}" or type(exc).__name__
                if reason == stored_error:
                    del self.errors[task_id]  # unchanged: nothing to write
                else:
                    self.errors[task_id] = reason
                continue
            yield flagged[task_id]

    def _plan(self, row: tuple[Any, ...]) -> TaskPlan | None:
        (pk, enabled, load_error, interval_id, crontab_id, solar_id, clocked_id,
         last_run_at, start_time, expires, one_off,
         missed, missed_limit, grace, jitter_seconds, anchor) = row  # fmt: skip
        if not enabled:
            return None
        try:
            if interval_id is not None:
                schedule = self._intervals.get(interval_id)
            elif crontab_id is not None:
                schedule = self._crontabs.get(crontab_id)
            else:
                schedule = self._schedule(solar_id, clocked_id)
            if schedule is None:
                raise RowError("its schedule row does not exist")
            if isinstance(schedule, Unreadable):
                raise RowError(schedule.reason)
            key = (last_run_at, start_time, expires, anchor, missed, missed_limit, grace)
            state = self._states.get(key)
            if state is None:
                tz = self._connection_tz
                state = self._states[key] = RunState(
                    last_run_at=aware_utc(last_run_at, tz, not_after=self.now),
                    start_time=aware_utc(start_time, tz),
                    expires=aware_utc(expires, tz),
                    anchor=aware_utc(anchor, tz, not_after=self.now),
                    starting_deadline=self.starting_deadline,
                    missed=missed,
                    missed_limit=missed_limit,
                    grace=grace,
                )
            plan_key = (id(schedule), id(state))  # both held by this loader
            try:
                planned = self._first_runs[plan_key]
            except KeyError:
                planned = self._first_runs[plan_key] = first_run(schedule, state, self.now)
        except Exception as exc:  # whatever one row does, the others are planned
            logger.error("Task id %s cannot be scheduled and is skipped: %s", pk, exc)
            self.errors[pk] = f"{exc}" or type(exc).__name__
            return None
        if load_error:
            self.errors[pk] = ""
        if planned is None:
            if expires is not None or clocked_id is not None:
                logger.info("Task id %s will not run again (expired or done): disabled it.", pk)
                self.expired.append(pk)
            return None
        plan = TaskPlan(pk, schedule, state, one_off, jitter_seconds)
        plan.next_run_at = planned
        return plan

    def _schedule(self, solar_id: Any, clocked_id: Any) -> Any:
        if solar_id is not None:
            return self._schedules["solar"].get(solar_id)
        if clocked_id is not None:
            return self._schedules["clocked"].get(clocked_id)
        raise RowError("it has no schedule (interval, crontab, solar or clocked)")

    def _read_schedules(self, chunk: list[tuple[Any, ...]]) -> None:
        """Read, in one query per kind, the schedule rows ``chunk`` uses that are not known yet."""
        for kind, column in SCHEDULE_ID.items():
            known = self._schedules[kind]
            wanted = {row[column] for row in chunk if row[column] is not None and row[column] not in known}
            if not wanted:
                continue
            model = self.model._meta.get_field(kind).related_model
            for pk, schedule in _schedule_rows(model._base_manager.using(self.using), wanted):
                known[pk] = schedule

    def write_outcome(self) -> None:
        """Store the load errors found (and clear the mended ones); disable the expired tasks."""
        if self.errors:
            set_load_errors(self.model, self.errors, self.using)
        if self.expired:
            disable(self.model, self.expired, self.using)


def _schedule_rows(rows: Any, wanted: set[Any]) -> Iterator[tuple[Any, Any]]:
    """(pk, Celery schedule or :class:`Unreadable`) for the schedule rows ``wanted``.

    A column the model cannot convert (a time zone that no longer exists, written by
    raw SQL or removed by a tzdata update) fails the whole read: then each row is read
    alone, so only that row is unreadable.
    """
    try:
        instances = list(rows.filter(pk__in=wanted))
    except DatabaseError:
        raise
    except Exception:
        instances = []
        for pk in wanted:
            try:
                instances.extend(rows.filter(pk=pk))
            except DatabaseError:
                raise
            except Exception as exc:
                yield pk, Unreadable(f"its schedule cannot be read: {exc}")
    for instance in instances:
        yield instance.pk, _celery_schedule(instance)


def _celery_schedule(instance: Any) -> Any:
    try:
        return instance.schedule
    except CronFieldError as exc:  # fields written around validation
        return Unreadable(f"its schedule cannot be read: {' '.join(cron_error(exc).messages)}")
    except Exception as exc:  # a row that cannot build its Celery schedule
        return Unreadable(f"its schedule cannot be read: {exc}")


def read_changes(model: Any, held: int, using: str) -> tuple[list[tuple[Any, ...]], list[Any], set[str]]:
    """What changed after version ``held``: the rows (of :data:`COLUMNS`) created or
    edited since, the ids of the tasks deleted since, and the task names of the enabled rows."""
    rows = model._base_manager.using(using).filter(version__gt=held).values_list(*COLUMNS, "enabled", "task")
    changed, names = [], set()
    for row in rows:
        changed.append(row[:-2])
        if row[-2]:
            names.add(row[-1])
    deleted = list(
        PeriodicTaskDeletion.objects.using(using).filter(version__gt=held).values_list("task_id", flat=True)
    )
    return changed, deleted, names


class TaskNames:
    """Warns once per task name that beat's Celery app does not know, when beat reads it.

    Beat sends such a task by name (it may be defined on the workers only), so this is
    a warning, not an error: a typo shows here instead of only in a worker's log.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: set[str] = set()
        self._imported = False

    def check(self, names: Iterable[str]) -> None:
        new = set(names) - self.seen
        if not new:
            return
        if not self._imported:  # autodiscovered task modules are imported lazily
            self._imported = True
            try:
                self.app.loader.import_default_modules()
            except Exception as exc:  # an import error in the project: say it, go on
                logger.warning("Could not import the project's task modules: %s", exc)
        known = self.app.tasks
        for name in sorted(new):
            self.seen.add(name)
            if name not in known:
                logger.warning(
                    "Task %r is not registered in beat's Celery app: beat sends it by name, and a "
                    "worker that does not know it reports it unregistered. Check the name, or that "
                    "the module defining it is imported.",
                    name,
                )


def apply_changes(
    plans: PlanQueue, loader: Loader, held: int, subset: Any = None, names: TaskNames | None = None
) -> tuple[int, int]:
    """Apply to ``plans`` what changed after version ``held``; ``subset`` (a queryset of
    tasks) keeps only the changed rows in it; ``names`` hears the task names read.
    Returns the numbers of changed and deleted tasks."""
    changed, deleted, task_names = read_changes(loader.model, held, loader.using)
    if names is not None:
        names.check(task_names)
    for task_id in deleted:
        plans.drop(task_id)
    for row in changed:
        plans.drop(row[ID])
    if subset is not None:
        wanted = set(subset.filter(pk__in=[row[ID] for row in changed]).values_list("pk", flat=True))
        changed = [row for row in changed if row[ID] in wanted]
    for plan in loader.plans(changed):
        plans.add(plan)
    loader.write_outcome()
    return len(changed), len(deleted)
