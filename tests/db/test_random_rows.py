"""Random rows through every write path, then beat ticks: it never raises, and every
enabled row is either scheduled or marked with why it is not (``load_error``)."""

import io
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_periodic.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_periodic.models.changes import PeriodicTasks

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("TEST_RANDOM_ROWS_EXAMPLES", "40"))

instants = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(9999, 12, 31, 23, 0), timezones=st.just(UTC)
    ),
    st.sampled_from([datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(2026, 6, 1, 12, tzinfo=UTC)]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
option_values = st.dictionaries(
    st.sampled_from(["expires", "countdown", "eta", "priority", "queue", "link", "retry", "serializer"]),
    st.one_of(
        json_values,
        st.integers(-(10**13), 10**13),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(
            ["2099-01-01T00:00:00+00:00", "2000-01-01T00:00:00", "2026-02-30T00:00:00", "soon", ""]
        ),
    ),
    max_size=3,
)
cron_fields = st.sampled_from(
    ["*", "0", "*/15", "5/15", "1-", "61", "mon-fri", "1,,2", "-3", "0-59/7", "x", "7"]
)
schedules = st.one_of(
    st.tuples(
        st.just("interval"),
        st.integers(0, 10**7),
        st.sampled_from(["days", "hours", "minutes", "seconds", "microseconds", "weeks"]),
    ),
    st.tuples(
        st.just("crontab"), cron_fields, cron_fields, st.sampled_from(["UTC", "Europe/Berlin", "Mars/Base"])
    ),
    st.tuples(st.just("clocked"), instants.filter(lambda value: value is not None)),
    st.tuples(
        st.just("solar"),
        st.sampled_from(["sunrise", "sunset", "dawn_astronomical"]),
        st.integers(-95, 95),
        st.integers(-185, 185),
    ),
)
rows = st.fixed_dictionaries(
    {
        "schedule": schedules,
        "args": json_values,
        "kwargs": json_values,
        "options": option_values,
        "headers": json_values,
        "priority": st.none() | st.integers(-5, 300),
        "start_time": instants,
        "expires": instants,
        "expire_seconds": st.none() | st.integers(0, 10**9),
        "one_off": st.booleans(),
        "missed_runs": st.sampled_from(["once", "skip", "all", "sometimes"]),
        "missed_runs_limit": st.integers(0, 500),
        "grace_seconds": st.none() | st.integers(0, 10**9),
        "jitter_seconds": st.none() | st.integers(0, 10**9),
        "path": st.sampled_from(["save", "update", "bulk_create", "raw_sql", "loaddata"]),
    }
)


def schedule_row(index, spec):
    """The schedule row of ``spec``, written around validation (any value the database holds)."""
    kind, *values = spec
    if kind == "interval":
        row = IntervalSchedule.objects.create(every=1, period="days")
        fields = {"every": values[0], "period": values[1]}
    elif kind == "crontab":
        row = CrontabSchedule.objects.create(timezone="UTC")
        fields = {"minute": values[0], "hour": values[1]}
    elif kind == "clocked":
        row = ClockedSchedule.objects.create(clocked_time=datetime(2026, 1, 1, tzinfo=UTC))
        fields = {"clocked_time": values[0]}
    else:
        row = SolarSchedule.objects.create(event="sunrise", latitude=index % 90, longitude=index % 180)
        fields = {"event": values[0], "latitude": values[1], "longitude": values[2]}
    try:
        with transaction.atomic():  # the database's own constraints may refuse it: then it keeps its default
            type(row).objects.filter(pk=row.pk).update(**fields)
    except DatabaseError:
        pass
    if kind == "crontab" and values[2] != "UTC":
        table = CrontabSchedule._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET timezone = %s WHERE id = %s", [values[2], row.pk])
    return kind, row


def write(index, spec):
    """Write the task of ``spec`` through its write path; False when that path refused it."""
    kind, schedule = schedule_row(index, spec["schedule"])
    fields = {key: value for key, value in spec.items() if key not in ("schedule", "path")}
    name = f"r{index}"
    base = {"name": name, "task": "tests.registered", kind: schedule}
    path = spec["path"]
    try:
        with transaction.atomic():
            if path == "save":
                PeriodicTask(**base, **fields).save()
            elif path == "bulk_create":
                PeriodicTask.objects.bulk_create([PeriodicTask(**base, **fields)])
            elif path in ("update", "raw_sql"):
                task = PeriodicTask.objects.create(**base, one_off=kind == "clocked")
                if path == "update":
                    PeriodicTask.objects.filter(pk=task.pk).update(**fields)
                else:
                    raw_update(task.pk, fields)
                    PeriodicTasks.update_changed()
            else:
                values = {key: value.isoformat() if isinstance(value, datetime) else value
                          for key, value in fields.items()}  # fmt: skip
                values.update(name=name, task="tests.registered", **{kind: schedule.pk})
                load([{"model": "django_periodic.periodictask", "fields": values}])
    except (ValidationError, DeserializationError, DatabaseError, ValueError, TypeError, OverflowError):
        return False  # the write path refused it: nothing for beat to read
    return True


def raw_update(pk, fields):
    table = PeriodicTask._meta.db_table
    columns, values = [], []
    for name, value in fields.items():
        column = PeriodicTask._meta.get_field(name).column
        columns.append(f"{connection.ops.quote_name(column)} = %s")
        if name in ("args", "kwargs", "options", "headers"):
            value = json.dumps(value)
        values.append(value)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {', '.join(columns)} WHERE id = %s", [*values, pk])


def load(fixture):
    from tempfile import NamedTemporaryFile

    with NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(fixture, file)
        file.flush()
        call_command("loaddata", file.name, stdout=io.StringIO())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(rows, min_size=1, max_size=4))
def test_beat_never_raises_and_every_enabled_row_is_scheduled_or_marked(make_scheduler, clock, specs):
    PeriodicTask.objects.all().delete()
    for model in (IntervalSchedule, CrontabSchedule, ClockedSchedule, SolarSchedule):
        model.objects.all()._raw_delete(connection.alias)  # rows no model instance can read
    written = sum(write(index, spec) for index, spec in enumerate(specs))
    clock.now = datetime.now(UTC)
    scheduler = make_scheduler()
    scheduler._tick = _raising(scheduler._tick)  # the tick itself, not its last-resort guard
    for step in (timedelta(0), timedelta(seconds=30), timedelta(days=400)):
        clock.now += step
        scheduler.tick()
        scheduler.tick()
    for task in PeriodicTask.objects.filter(enabled=True):
        assert task.pk in scheduler.plans.by_id or task.load_error, (task.name, written)


def _raising(tick):
    """``tick`` with the last-resort guard's log turned into a failure: no row may reach it."""
    import logging

    class Fail(logging.Handler):
        def emit(self, record):
            if record.getMessage().startswith("Unexpected error while ticking"):
                raise AssertionError(record.exc_text or record.getMessage())

    def guarded():
        handler = Fail()
        logger = logging.getLogger("django_periodic.beat")
        logger.addHandler(handler)
        try:
            return tick()
        finally:
            logger.removeHandler(handler)

    return guarded
