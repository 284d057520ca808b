"""Settings read by beat (``DJANGO_PERIODIC`` and Celery's own), and promises with no other home:
independent lease names, the one-query ``enabled()``, the ledger's upkeep when beat is idle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError

from django_periodic.beat.leadership import Lease, LeaseChange
from django_periodic.beat.publish import run_task_id
from django_periodic.models import (
    BeatLease,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTaskRun,
)
from django_periodic.models.changes import PeriodicTasks
from tests.conftest import RecordingScheduler

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_10s():
    return IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)


def test_the_lease_and_poll_settings_reach_beat(celery_app, clock, settings):
    settings.DJANGO_PERIODIC = {
        "LEASE_NAME": "reports",
        "LEASE_SECONDS": 20.0,
        "LEASE_RENEW_INTERVAL": 4.0,
        "LEASE_DRIFT_MARGIN": 1.5,
        "POLL_INTERVAL": 3.0,
    }
    scheduler = RecordingScheduler(app=celery_app, clock=clock)
    try:
        scheduler.tick()
        lease = BeatLease.objects.get()
        assert lease.name == "reports" and lease.holder == scheduler.lease.holder
        assert lease.expires_at - lease.renewed_at == timedelta(seconds=20)
        assert scheduler.lease.valid_until - scheduler.lease._next_attempt == pytest.approx(20 - 1.5 - 4.0)
        assert scheduler.poll_interval == 3.0
        assert 0 < scheduler.tick() <= 3.0  # it wakes for the next poll
    finally:
        scheduler.close()


def test_beat_max_loop_interval_bounds_the_sleep(celery_app, clock):
    scheduler = RecordingScheduler(
        app=celery_app, clock=clock, poll_interval=100, lease=Lease(seconds=3600, renew_every=1800)
    )
    try:
        assert scheduler.max_interval == 5  # the default here
        assert scheduler.tick() == pytest.approx(5, abs=0.1)
    finally:
        scheduler.close()
    celery_app.conf.beat_max_loop_interval = 2
    scheduler = RecordingScheduler(
        app=celery_app, clock=clock, poll_interval=100, lease=Lease(seconds=3600, renew_every=1800)
    )
    try:
        assert scheduler.tick() == pytest.approx(2, abs=0.1)
    finally:
        scheduler.close()


def test_database_errors_back_off_up_to_max_backoff(make_scheduler, every_10s, monkeypatch, settings):
    settings.DJANGO_PERIODIC = {"MAX_BACKOFF": 3.0}
    PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler()
    scheduler.tick()

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(PeriodicTasks, "state", broken)
    assert [scheduler.tick() for _ in range(5)] == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_beats_with_different_lease_names_each_lead_their_own_cluster():
    mono = {"a": 1000.0, "b": 1000.0, "c": 1000.0}
    a = Lease("cluster-a", monotonic=lambda: mono["a"])
    b = Lease("cluster-b", monotonic=lambda: mono["b"])
    a_standby = Lease("cluster-a", monotonic=lambda: mono["c"])
    assert a.maintain() is LeaseChange.ACQUIRED and b.maintain() is LeaseChange.ACQUIRED
    assert a_standby.maintain() is LeaseChange.NONE and not a_standby.is_leader
    assert a.is_leader and b.is_leader


def test_schedule_changed_says_whether_the_counter_moved(make_scheduler, every_10s):
    scheduler = make_scheduler()
    scheduler.tick()
    assert not scheduler.schedule_changed()
    PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    assert scheduler.schedule_changed()
    scheduler.tick()
    assert not scheduler.schedule_changed()


def test_enabled_reads_tasks_and_their_schedule_rows_at_a_fixed_cost(every_10s, django_assert_num_queries):
    """One query for the tasks and one per kind of schedule, whatever the number of tasks."""
    cron = CrontabSchedule.objects.create(minute="0")
    PeriodicTask.objects.bulk_create(
        [PeriodicTask(name=f"i{n}", task="t", interval=every_10s) for n in range(20)]
        + [PeriodicTask(name=f"c{n}", task="t", crontab=cron) for n in range(20)]
        + [PeriodicTask(name="off", task="t", interval=every_10s, enabled=False)]
    )
    with django_assert_num_queries(3):  # tasks, their interval rows, their crontab rows
        tasks = {task.name: task for task in PeriodicTask.objects.enabled()}
        schedules = {name: task.schedule for name, task in tasks.items()}
    assert len(tasks) == 40 and "off" not in tasks
    assert schedules["i0"].run_every == timedelta(seconds=10)


def test_an_outbox_run_that_expired_before_the_next_start_is_marked_not_sent(
    make_scheduler, clock, every_10s
):
    task = PeriodicTask.objects.create(
        name="t", task="tests.registered", interval=every_10s, expire_seconds=30
    )
    first = make_scheduler()
    first.fail_sends = 1
    clock.now = task.date_changed + timedelta(seconds=10)
    slot = clock.now
    first.tick()
    first._forget()  # what losing the lease does: the run stays recorded, for the next leader
    clock.advance(seconds=31)  # past the run's expiry
    successor = make_scheduler()
    successor.tick()
    run = PeriodicTaskRun.objects.get(celery_task_id=run_task_id(task.pk, slot))
    assert (run.state, run.reason) == ("not_sent", "expired before a beat could send it")
    assert run_task_id(task.pk, slot) not in {sent["id"] for sent in successor.sent}


def test_beat_prunes_the_ledger_when_idle(make_scheduler, clock, every_10s, settings):
    settings.DJANGO_PERIODIC = {"RUNS_KEEP_PER_TASK": 2, "RUNS_KEEP_DAYS": None}
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    PeriodicTaskRun.objects.bulk_create(
        PeriodicTaskRun(
            task=task,
            task_name="t",
            scheduled_at=clock.now - timedelta(minutes=m),
            celery_task_id=run_task_id(task.pk, clock.now - timedelta(minutes=m)),
            state="succeeded",
            recorded_at=clock.now - timedelta(minutes=m),
        )
        for m in range(1, 6)
    )
    clock.now = task.date_changed + timedelta(seconds=3)  # the next run is 7 s away: idle
    scheduler = make_scheduler()
    scheduler.tick()
    assert PeriodicTaskRun.objects.count() == 2
