"""Broker down: a recorded run is retried with back-off until it expires, then marked not sent.

The retry queue runs on beat's monotonic clock; these tests give the sender a clock
they move by hand, so every back-off is observed rather than skipped.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from django_periodic.beat.publish import run_task_id
from django_periodic.models import IntervalSchedule, PeriodicTask, PeriodicTaskRun

pytestmark = pytest.mark.django_db


class Monotonic:
    """The sender's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def broker_down(make_scheduler, clock):
    """A beat whose broker refuses every send until the test says otherwise, and its first run."""
    schedule = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)

    def make(**fields):
        task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=schedule, **fields)
        scheduler = make_scheduler()
        scheduler.sender.monotonic = Monotonic()
        scheduler.fail_sends = 10**6
        clock.now = task.date_changed + timedelta(seconds=10)
        scheduler.tick()
        assert scheduler.sent == [] and len(scheduler.sender.pending) == 1
        return scheduler, task, clock.now

    return make


def waits(scheduler):
    """Seconds until each waiting run is retried."""
    sender = scheduler.sender
    return [round(pending.retry_at - sender.monotonic(), 6) for pending in sender.pending]


def ledger_row(run_id):
    return PeriodicTaskRun.objects.get(celery_task_id=run_id)


def test_a_run_the_broker_refused_expires_in_the_queue_and_is_marked_not_sent(broker_down, clock, caplog):
    scheduler, task, slot = broker_down(expire_seconds=30)
    run_id = run_task_id(task.pk, slot)
    scheduler.sender.monotonic.now += 1  # the first back-off is over
    clock.now = slot + timedelta(seconds=31)  # the run's expiry has passed meanwhile
    scheduler.fail_sends = 0  # the broker is back: only the expiry keeps the run out
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "Broker error: broker unreachable (test); 1 run(s) kept for retry, beat keeps running."
    ]
    caplog.clear()
    scheduler.sender.retry_due(clock.now)
    assert scheduler.sent == [] and scheduler.sender.pending == []
    run = ledger_row(run_id)
    assert (run.state, run.reason) == ("not_sent", "expired before the broker took it")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"Run {run_id} of t expired before the broker came back: not sent."]


def test_a_run_retried_before_its_expiry_goes_out_with_its_id(broker_down, clock):
    scheduler, task, slot = broker_down(expire_seconds=30)
    scheduler.sender.monotonic.now += 1
    clock.now = slot + timedelta(seconds=29)
    scheduler.fail_sends = 0
    scheduler.sender.retry_due(clock.now)
    assert [sent["id"] for sent in scheduler.sent] == [run_task_id(task.pk, slot)]
    assert ledger_row(run_task_id(task.pk, slot)).state == "sent"


def test_back_off_doubles_up_to_max_backoff(broker_down, clock, settings):
    settings.DJANGO_PERIODIC = {"MAX_BACKOFF": 5.0}
    scheduler, _task, _slot = broker_down()
    seen = []
    for _attempt in range(6):
        seen.append(waits(scheduler)[0])
        scheduler.sender.monotonic.now += seen[-1]  # exactly when the retry is due
        scheduler.sender.retry_due(clock.now)
        assert scheduler.sent == [] and len(scheduler.sender.pending) == 1
    assert seen == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert scheduler.sender.pending[0].attempts == 7


def test_no_retry_before_the_back_off_is_over(broker_down, clock):
    scheduler, _task, _slot = broker_down()
    scheduler.fail_sends = 0
    scheduler.sender.monotonic.now += 0.99
    scheduler.sender.retry_due(clock.now)
    assert scheduler.sent == []
    scheduler.sender.monotonic.now += 0.01
    scheduler.sender.retry_due(clock.now)
    assert len(scheduler.sent) == 1


def test_shutdown_gives_waiting_runs_one_last_try(broker_down, clock):
    scheduler, task, slot = broker_down()
    scheduler.fail_sends = 0  # the broker is back, the back-off is not over
    scheduler.close()
    assert [sent["id"] for sent in scheduler.sent] == [run_task_id(task.pk, slot)]
    assert ledger_row(run_task_id(task.pk, slot)).state == "sent"


def test_shutdown_names_the_runs_it_could_not_send_and_leaves_them_recorded(broker_down, clock, caplog):
    scheduler, task, slot = broker_down()
    run_id = run_task_id(task.pk, slot)
    scheduler.close()
    assert scheduler.sent == [] and scheduler.sender.pending == []
    assert scheduler.fail_sends == 10**6 - 2  # the send in the tick, then the last try
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "could not be sent before shutdown" in message and f"t ({run_id})" in message for message in warnings
    ), warnings
    assert ledger_row(run_id).state == "recorded"  # the next beat to lead sends it
