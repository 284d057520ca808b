"""Missed runs through the scheduler: each policy as beat applies it after an outage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from django_periodic.beat.publish import run_task_id
from django_periodic.models import CrontabSchedule, PeriodicTask

pytestmark = pytest.mark.django_db


def next_hour() -> datetime:
    """The next full hour by the real clock: after every row's stamp."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def tick_until_quiet(scheduler, ticks=20):
    """Tick as Celery's beat does: again at once while the tick says a run is due now."""
    for _ in range(ticks):
        scheduler.tick()
        next_due = scheduler.plans.next_due_at()
        if next_due is None or next_due > scheduler.clock():
            return
    raise AssertionError(f"still sending after {ticks} ticks: {len(scheduler.sent)} runs")


def test_all_sends_the_most_recent_missed_runs_oldest_first(make_scheduler, clock):
    clock.now = next_hour()
    cron = CrontabSchedule.objects.create(minute="*/5", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="c",
        task="tests.registered",
        crontab=cron,
        missed_runs="all",
        missed_runs_limit=3,
        last_run_at=clock.now - timedelta(hours=1),  # twelve slots since, the last one now
    )
    scheduler = make_scheduler()
    tick_until_quiet(scheduler)
    slots = [clock.now - timedelta(minutes=m) for m in (10, 5, 0)]
    assert [sent["id"] for sent in scheduler.sent] == [run_task_id(task.pk, slot) for slot in slots]
    stored = PeriodicTask.objects.get()
    assert stored.total_run_count == 3 and stored.last_run_at == clock.now
    clock.advance(minutes=5)
    scheduler.tick()
    assert scheduler.sent[-1]["id"] == run_task_id(task.pk, clock.now) and len(scheduler.sent) == 4


def test_all_with_fewer_missed_runs_than_the_limit_sends_each_once(make_scheduler, clock):
    clock.now = next_hour()
    cron = CrontabSchedule.objects.create(minute="*/5", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="c",
        task="tests.registered",
        crontab=cron,
        missed_runs="all",
        missed_runs_limit=10,
        last_run_at=clock.now - timedelta(minutes=15),
    )
    scheduler = make_scheduler()
    tick_until_quiet(scheduler)
    slots = [clock.now - timedelta(minutes=m) for m in (10, 5, 0)]
    assert [sent["id"] for sent in scheduler.sent] == [run_task_id(task.pk, slot) for slot in slots]


def test_all_after_an_outage_while_beat_runs(make_scheduler, clock):
    """Beat could not tick for 30 minutes (a database outage): the last three slots go out."""
    clock.now = next_hour()
    cron = CrontabSchedule.objects.create(minute="*/5", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="c", task="tests.registered", crontab=cron, missed_runs="all", missed_runs_limit=3
    )
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    clock.advance(minutes=30)
    tick_until_quiet(scheduler)
    slots = [clock.now - timedelta(minutes=m) for m in (10, 5, 0)]
    assert [sent["id"] for sent in scheduler.sent] == [run_task_id(task.pk, slot) for slot in slots]
