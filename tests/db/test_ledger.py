"""The run ledger: every run recorded before it is sent, none lost or sent twice, outcomes."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db.models import Q

from django_periodic import workers
from django_periodic.models import IntervalSchedule, PeriodicTask, PeriodicTaskRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_10s():
    return IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)


def burst(schedule, count, **fields):
    PeriodicTask.objects.bulk_create(
        [
            PeriodicTask(name=f"b{i}", task="tests.registered", interval=schedule, **fields)
            for i in range(count)
        ]
    )


def first_due(clock):
    clock.now = PeriodicTask.objects.latest("date_changed").date_changed + timedelta(seconds=10)


def states():
    return dict(PeriodicTaskRun.objects.values_list("celery_task_id", "state"))


def test_sigterm_mid_burst_loses_nothing_and_the_next_start_sends_the_rest(make_scheduler, clock, every_10s):
    burst(every_10s, 50)
    first = make_scheduler()
    first_due(clock)
    calls = {"n": 0}
    original = first.send_run

    def interrupted(run, run_id, producer):
        calls["n"] += 1
        if calls["n"] == 8:
            raise SystemExit()  # what Celery's SIGTERM handler raises
        return original(run, run_id, producer)

    first.send_run = interrupted  # type: ignore[method-assign]
    first.sender.send_run = interrupted
    with pytest.raises(SystemExit):
        first.tick()
    published = {sent["id"] for sent in first.sent}
    assert len(published) == 7
    ledger = states()
    assert len(ledger) == 50  # every run was recorded before the first publish
    assert {i for i, state in ledger.items() if state == "sent"} == published  # marked on the way out
    second = make_scheduler()  # the restart
    second.tick()
    resent = [sent["id"] for sent in second.sent]
    assert set(resent) == set(ledger) - published and len(resent) == 43  # the rest, same ids, once each
    assert set(states().values()) == {"sent"}


def test_a_lease_lost_while_recording_aborts_the_batch_and_sends_nothing(make_scheduler, clock, every_10s):
    burst(every_10s, 20)
    scheduler = make_scheduler()
    first_due(clock)
    answers = iter([True, False])  # held when the transaction starts, gone when a statement misses
    scheduler.lease.lock = lambda: next(answers)  # type: ignore[method-assign]
    scheduler.lease.fence = lambda: Q(pk__in=[])  # type: ignore[method-assign] # the fence fails
    scheduler.tick()
    assert scheduler.sent == []
    assert PeriodicTaskRun.objects.count() == 0
    assert set(PeriodicTask.objects.values_list("total_run_count", flat=True)) == {0}


def test_runs_refused_by_the_broker_survive_a_lease_change(make_scheduler, clock, every_10s):
    burst(every_10s, 5)
    first = make_scheduler()
    first_due(clock)
    first.fail_sends = 1
    first.tick()
    assert first.sent == [] and len(first.sender.pending) == 5
    first._forget()  # what losing the lease does: the retry queue is dropped
    assert set(states().values()) == {"recorded"}
    successor = make_scheduler()
    successor.tick()
    assert sorted(sent["id"] for sent in successor.sent) == sorted(states())
    assert set(states().values()) == {"sent"}


def test_a_recorded_run_whose_task_was_deleted_is_marked_not_sent(make_scheduler, clock, every_10s):
    burst(every_10s, 2)
    first = make_scheduler()
    first_due(clock)
    first.fail_sends = 1
    first.tick()
    PeriodicTask.objects.filter(name="b0").delete()
    first._forget()
    successor = make_scheduler()
    successor.tick()
    runs = {run.task_name: run for run in PeriodicTaskRun.objects.all()}
    assert runs["b0"].state == "not_sent" and "deleted" in runs["b0"].reason
    assert runs["b1"].state == "sent" and [sent["name"] for sent in successor.sent] == ["b1"]


def test_overlap_skip_sends_no_run_while_the_previous_is_unfinished(make_scheduler, clock, every_10s):
    task = PeriodicTask.objects.create(
        name="slow", task="tests.registered", interval=every_10s, overlap="skip"
    )
    scheduler = make_scheduler()
    first_due(clock)
    scheduler.tick()
    assert len(scheduler.sent) == 1
    first_id = scheduler.sent[0]["id"]
    workers._write(first_id, state="started")  # a worker is running it
    clock.advance(seconds=10)
    scheduler.tick()
    assert len(scheduler.sent) == 1
    skipped = PeriodicTaskRun.objects.get(task=task, state="skipped")
    assert skipped.reason.startswith("overlap")
    workers._write(first_id, state="succeeded")
    clock.advance(seconds=10)
    scheduler.tick()
    assert len(scheduler.sent) == 2


def test_a_run_with_no_outcome_past_the_timeout_stops_blocking(make_scheduler, clock, every_10s):
    PeriodicTask.objects.create(
        name="slow", task="tests.registered", interval=every_10s, overlap="skip", overlap_timeout=15
    )
    scheduler = make_scheduler()
    first_due(clock)
    scheduler.tick()
    first_id = scheduler.sent[0]["id"]
    clock.advance(seconds=10)
    scheduler.tick()  # 10 s: still blocking
    clock.advance(seconds=10)
    scheduler.tick()  # 20 s > 15 s: the first is marked lost, this one goes out
    assert len(scheduler.sent) == 2
    assert PeriodicTaskRun.objects.get(celery_task_id=first_id).state == "lost"


def test_overlap_allow_is_the_default_and_never_queries_the_ledger(make_scheduler, clock, every_10s):
    PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler()
    first_due(clock)
    scheduler.tick()
    clock.advance(seconds=10)
    scheduler.tick()
    assert len(scheduler.sent) == 2


def test_the_worker_handlers_record_each_transition_and_ignore_other_tasks(make_scheduler, clock, every_10s):
    PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler()
    first_due(clock)
    scheduler.tick()
    run_id = scheduler.sent[0]["id"]
    request = SimpleNamespace(id=run_id, periodic_task_name="t", hostname="w1@host")
    task = SimpleNamespace(request=request)
    workers.run_started(task_id=run_id, task=task)
    row = PeriodicTaskRun.objects.get(celery_task_id=run_id)
    assert row.state == "started" and row.worker == "w1@host" and row.started_at is not None
    workers.run_retried(request=request, reason="Retry in 1s")
    assert PeriodicTaskRun.objects.get(celery_task_id=run_id).retries == 1
    workers.run_failed(sender=task, task_id=run_id, exception=ValueError("boom"))
    row = PeriodicTaskRun.objects.get(celery_task_id=run_id)
    assert row.state == "failed" and row.reason == "ValueError: boom" and row.duration is not None
    workers.run_succeeded(sender=task)  # a final state is never overwritten
    assert PeriodicTaskRun.objects.get(celery_task_id=run_id).state == "failed"
    other = SimpleNamespace(request=SimpleNamespace(id="x", hostname="w1"))
    workers.run_started(task_id="x", task=other)  # no periodic_task_name header: not a run


def test_a_database_error_on_the_worker_never_fails_the_task(monkeypatch, caplog):
    from django.db import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("database unreachable (test)")

    monkeypatch.setattr(PeriodicTaskRun._base_manager, "filter", broken)
    monkeypatch.setattr(workers, "_paused_until", 0.0)
    request = SimpleNamespace(id="a", periodic_task_name="t", hostname="w")
    workers.run_started(task_id="a", task=SimpleNamespace(request=request))  # does not raise
    assert "Run ledger not written" in caplog.text
    assert workers._paused_until > 0


def test_the_ledger_can_be_turned_off(make_scheduler, clock, every_10s, settings):
    settings.DJANGO_PERIODIC = {**settings.DJANGO_PERIODIC, "RUN_LEDGER": False}
    burst(every_10s, 3)
    scheduler = make_scheduler()
    first_due(clock)
    scheduler.tick()
    assert len(scheduler.sent) == 3 and PeriodicTaskRun.objects.count() == 0


def test_a_batch_stops_when_the_lease_is_lost_mid_send_and_the_successor_sends_the_rest(
    make_scheduler, clock, every_10s
):
    burst(every_10s, 250)
    first = make_scheduler()
    first_due(clock)
    looks = iter([True, True, False])  # the lease is looked at every 100 runs
    first.sender.still_leader = lambda: next(looks)
    first.tick()
    assert len(first.sent) == 200
    assert list(states().values()).count("recorded") == 50
    first._forget()
    successor = make_scheduler()
    successor.tick()
    assert len(successor.sent) == 50 and set(states().values()) == {"sent"}
    assert not {sent["id"] for sent in first.sent} & {sent["id"] for sent in successor.sent}


def test_a_run_already_in_the_ledger_is_not_sent_again_and_blocks_nothing(
    make_scheduler, clock, every_10s, caplog
):
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    PeriodicTask.objects.create(name="u", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler()
    first_due(clock)
    scheduler.tick()
    assert len(scheduler.sent) == 2
    # Something rewinds one task's run state (a naive time read back in the wrong fold,
    # raw SQL): beat plans the same slot again, and the run id it derives is recorded.
    PeriodicTask._base_manager.filter(pk=task.pk).update(last_run_at=None, total_run_count=0)
    scheduler = make_scheduler()
    with caplog.at_level(logging.ERROR, logger="django_periodic.beat"):
        scheduler.tick()
    assert [sent["name"] for sent in scheduler.sent] == []  # the same run is not sent twice
    assert "in the run ledger already" in caplog.text
    clock.advance(seconds=10)
    scheduler.tick()
    assert sorted(sent["name"] for sent in scheduler.sent) == ["t", "u"]  # and nothing is stuck


def test_a_beat_that_lost_the_lease_retries_nothing_and_leaves_the_runs_recorded(
    make_scheduler, clock, every_10s
):
    burst(every_10s, 3)
    scheduler = make_scheduler()
    first_due(clock)
    scheduler.fail_sends = 1
    scheduler.tick()
    assert len(scheduler.sender.pending) == 3
    scheduler.sender.still_leader = lambda: False
    for pending in scheduler.sender.pending:
        pending.retry_at = 0.0
    scheduler.sender.retry_due(clock.now)
    assert scheduler.sent == [] and scheduler.sender.pending == []
    assert set(states().values()) == {"recorded"}  # the next leader's to send


@pytest.mark.parametrize("expires", [timedelta(hours=-1), timedelta(hours=1)])
def test_a_naive_expiry_from_a_use_tz_false_database_is_compared_in_time_zone(expires, settings, clock):
    from django.utils import timezone

    from django_periodic.beat.runs import Run
    from django_periodic.beat.sending import Outgoing

    settings.USE_TZ, settings.TIME_ZONE = False, "Europe/Berlin"
    naive = timezone.make_naive(clock.now + expires, timezone.get_default_timezone())
    item = Outgoing(Run(1, "t", "tests.registered", [], {}, {"expires": naive}), clock.now, "id")
    assert (clock.now >= item.expires_at) is (expires < timedelta(0))  # no TypeError, right zone
