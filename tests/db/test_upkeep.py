"""Beat's upkeep: the hourly full read (the safety net), pruning deletion records, error logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection

from django_periodic import schedulers
from django_periodic.models import IntervalSchedule, PeriodicTask, PeriodicTaskDeletion

pytestmark = pytest.mark.django_db


@pytest.fixture
def monotonic(monkeypatch):
    """Beat's monotonic clock (what times the polls and the full read), moved by the test."""
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(schedulers, "time", SimpleNamespace(monotonic=lambda: clock.now))
    return clock


@pytest.fixture
def every_10s():
    return IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)


def raw_disable(task):
    """A write around the change feed (raw SQL): only a full read can see it."""
    table = connection.ops.quote_name(PeriodicTask._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET enabled = %s WHERE id = %s", [False, task.pk])


def test_a_full_read_every_hour_catches_writes_the_change_feed_missed(make_scheduler, monotonic, every_10s):
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler(poll_interval=0.5)
    scheduler.tick()
    raw_disable(task)
    monotonic.now += 3599
    scheduler.tick()
    assert list(scheduler.schedule) == ["t"] and scheduler.stats["full_loads"] == 1
    assert scheduler.stats["polls"] >= 1  # it did look, and the counter had not moved
    monotonic.now += 1
    scheduler.tick()
    assert scheduler.stats["full_loads"] == 2 and list(scheduler.schedule) == []


def test_the_full_read_interval_is_a_setting(make_scheduler, monotonic, every_10s, settings):
    settings.DJANGO_PERIODIC = {"FULL_RECONCILE_INTERVAL": 60.0}
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    raw_disable(task)
    monotonic.now += 60
    scheduler.tick()
    assert scheduler.stats["full_loads"] == 2 and list(scheduler.schedule) == []


def test_deletion_records_older_than_the_retention_are_pruned_at_a_full_read(
    make_scheduler, every_10s, settings
):
    settings.DJANGO_PERIODIC = {"DELETION_RETENTION_DAYS": 7}
    old = PeriodicTask.objects.create(name="old", task="tests.registered", interval=every_10s)
    recent = PeriodicTask.objects.create(name="recent", task="tests.registered", interval=every_10s)
    old.delete()
    recent.delete()
    PeriodicTaskDeletion.objects.filter(name="old").update(
        deleted_at=PeriodicTaskDeletion.objects.get(name="old").deleted_at - timedelta(days=8)
    )
    make_scheduler().tick()
    assert list(PeriodicTaskDeletion.objects.values_list("name", flat=True)) == ["recent"]


def test_a_row_that_cannot_be_scheduled_is_logged_at_error_with_its_reason(make_scheduler, caplog):
    from django_periodic.models import CrontabSchedule

    never = CrontabSchedule.objects.create(minute="0", hour="0", day_of_month="28", month_of_year="2")
    task = PeriodicTask.objects.create(name="30 February", task="tests.registered", crontab=never)
    with connection.cursor() as cursor:  # written around validation, which refuses it
        table = connection.ops.quote_name(CrontabSchedule._meta.db_table)
        cursor.execute(f"UPDATE {table} SET day_of_month = '30' WHERE id = %s", [never.pk])
    make_scheduler().tick()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and f"Task id {task.pk} cannot be scheduled" in errors[0], errors
    assert "'30' is not a valid day_of_month" in errors[0]


def test_a_row_that_cannot_be_sent_is_logged_at_error_with_its_reason(
    make_scheduler, clock, every_10s, caplog
):
    bad = PeriodicTask.objects.create(name="bad", task="tests.registered", interval=every_10s)
    PeriodicTask._base_manager.filter(pk=bad.pk).update(kwargs=[1, 2])  # bypasses validation
    clock.now = PeriodicTask.objects.get().date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "'bad'" in errors[0] and "kwargs is not a JSON object" in errors[0], errors
