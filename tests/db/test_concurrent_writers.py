"""The change feed under concurrent writers: beat's view ends equal to the database.

Writers are threads, each with its own database connection (so their transactions
really interleave in the database), doing saves, updates, bulk writes, deletes and
schedule edits inside outer transactions while a beat polls.
"""

import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection, connections, transaction

from django_periodic.models import CrontabSchedule, IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db(transaction=True)

#: How long the writers write (CI: a few seconds per database; longer runs by hand).
SECONDS = float(os.environ.get("TEST_CHANGEFEED_SECONDS", "6"))


def blocked_or_done(done: threading.Event, thread: threading.Thread, timeout: float = 60.0) -> bool:
    """Wait until ``done`` is set or another connection waits for a lock; True when blocked."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done.is_set():
            return False
        assert thread.error is None, thread.error
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            else:
                # another connection in the middle of a statement (waiting: nothing else runs)
                cursor.execute(
                    "SELECT COUNT(*) FROM information_schema.processlist WHERE id <> CONNECTION_ID() "
                    "AND db = DATABASE() AND command = 'Query' AND info LIKE 'UPDATE%%'"
                )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.01)
    raise AssertionError("the second writer neither finished nor waited for a lock")


def in_thread(target, *args):
    def run():
        try:
            target(*args)
        except BaseException as exc:
            thread.error = exc
            raise
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.error = None
    thread.start()
    return thread


def test_a_task_created_on_a_schedule_being_edited_is_read_with_the_edit(make_scheduler, clock):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite lets one writer at a time: the interleaving cannot happen")
    clock.now = datetime.now(UTC)
    cron = CrontabSchedule.objects.create(minute="0", hour="0", day_of_month="1", month_of_year="1")
    scheduler = make_scheduler()
    scheduler.tick()
    edited, release, created = threading.Event(), threading.Event(), threading.Event()

    def edit_in_an_outer_transaction():  # the admin's change view, or ATOMIC_REQUESTS
        with transaction.atomic():
            row = CrontabSchedule.objects.get(pk=cron.pk)
            row.minute, row.hour, row.day_of_month, row.month_of_year = "*", "*", "*", "*"
            row.save()
            edited.set()
            release.wait(60)

    def create_a_task():
        PeriodicTask.objects.create(name="t", task="tests.registered", crontab_id=cron.pk)
        created.set()

    editor = in_thread(edit_in_an_outer_transaction)
    assert edited.wait(60)
    creator = in_thread(create_a_task)
    blocked_or_done(created, creator)
    scheduler.tick()  # beat polls while the edit is open
    release.set()
    editor.join(60)
    creator.join(60)
    assert created.is_set()
    scheduler.tick()
    task = PeriodicTask.objects.get(name="t")
    plan = scheduler.plans.get(task.pk)
    assert plan is not None and plan.schedule._orig_minute == "*"  # not 0 0 1 1 *


def _writer(seed: int, stop: threading.Event, errors: list[str], schedules: list[int]) -> None:
    rng = random.Random(seed)
    serial = 0

    def name():
        nonlocal serial
        serial += 1
        return f"w{seed}-{serial}"

    def some_tasks(count):
        ids = list(PeriodicTask.objects.values_list("pk", flat=True))
        return rng.sample(ids, min(count, len(ids)))

    def create():
        PeriodicTask.objects.create(name=name(), task="tests.registered", interval_id=rng.choice(schedules))

    def edit():
        for pk in some_tasks(1):
            try:
                task = PeriodicTask.objects.get(pk=pk)
            except PeriodicTask.DoesNotExist:
                return
            task.args = [rng.randrange(100)]
            task.enabled = rng.random() < 0.8
            task.interval_id = rng.choice(schedules)
            task.save()

    def update():
        PeriodicTask.objects.filter(pk__in=some_tasks(3)).update(enabled=rng.random() < 0.5)

    def bulk():
        PeriodicTask.objects.bulk_create(
            [
                PeriodicTask(name=name(), task="tests.registered", interval_id=rng.choice(schedules))
                for _ in range(3)
            ]
        )
        tasks = list(PeriodicTask.objects.filter(pk__in=some_tasks(3)))
        for task in tasks:
            task.kwargs = {"n": rng.randrange(100)}
        PeriodicTask.objects.bulk_update(tasks, ["kwargs"])

    def delete():
        if rng.random() < 0.5:
            PeriodicTask.objects.filter(pk__in=some_tasks(2)).delete()
        else:
            for task in PeriodicTask.objects.filter(pk__in=some_tasks(1)):
                task.delete()

    def schedule_edit():
        with transaction.atomic():  # with a task edit, in one outer transaction
            interval = IntervalSchedule.objects.get(pk=rng.choice(schedules))
            interval.every = rng.randrange(3600, 7200)
            interval.save()
            PeriodicTask.objects.filter(pk__in=some_tasks(1)).update(description=f"{interval.every}")

    operations = [create, create, edit, edit, update, bulk, delete, schedule_edit]
    while not stop.is_set():
        operation = rng.choice(operations)
        try:
            operation()
        except OperationalError as exc:  # a deadlock or a lock wait timeout
            errors.append(f"{operation.__name__}: {exc}")


def test_beats_view_equals_the_database_after_concurrent_writers(make_scheduler, clock, celery_app):
    clock.now = datetime.now(UTC)
    schedules = [IntervalSchedule.objects.create(every=3600 + i, period="seconds").pk for i in range(4)]
    scheduler = make_scheduler()
    scheduler.tick()
    stop = threading.Event()
    errors: list[str] = []
    writers = [in_thread(_writer, seed, stop, errors, schedules) for seed in range(4)]
    deadline = time.monotonic() + SECONDS
    polls = 0
    while time.monotonic() < deadline:
        scheduler.tick()
        polls += 1
        time.sleep(0.05)
    stop.set()
    for writer in writers:
        writer.join(120)
        assert not writer.is_alive()
    scheduler.tick()
    assert errors == []  # no deadlock, no lock wait timeout
    assert polls > 10 and scheduler.stats["full_loads"] == 1  # it followed the deltas
    fresh = make_scheduler()  # a full read of the database now
    fresh.tick()

    def view(beat):
        return {pk: (plan.next_run_at, plan.schedule.run_every) for pk, plan in beat.plans.by_id.items()}

    enabled = set(PeriodicTask.objects.filter(enabled=True).values_list("pk", flat=True))
    assert len(enabled) > 20
    assert set(scheduler.plans.by_id) == enabled
    assert view(scheduler) == view(fresh)


def test_beat_records_runs_while_an_edit_holds_the_counter(make_scheduler, clock):
    """The counter row serialises task writes, not beat: its run state and ledger writes take
    no version, so a transaction left open in the admin does not hold sends back."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite: any open write transaction holds every writer, beat included")
    every = IntervalSchedule.objects.create(every=10, period="seconds")
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=every)
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()  # loads, sends the first run
    holding, release, released = threading.Event(), threading.Event(), threading.Event()

    def edit_and_wait():
        with transaction.atomic():
            PeriodicTask.objects.create(name="other", task="tests.registered", interval=every)
            holding.set()
            release.wait(30)
        released.set()

    editor = in_thread(edit_and_wait)
    assert holding.wait(30)
    clock.advance(seconds=10)
    scheduler.tick()  # sends and records while the edit is open
    sent_while_held = not released.is_set()
    release.set()
    editor.join(30)
    assert scheduler.names() == ["t", "t"] and sent_while_held
