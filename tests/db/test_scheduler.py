"""DatabaseScheduler with an injected clock: what it sends, when, and what it writes."""

import os
import signal
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import OperationalError, connection
from django.db.models.functions import Now

from django_periodic.beat.leadership import Lease
from django_periodic.beat.publish import run_task_id
from django_periodic.models import (
    BeatLease,
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTaskRun,
)
from django_periodic.models.changes import PeriodicTasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_10s():
    return IntervalSchedule.objects.create(every=10, period="seconds")


def interval_task(schedule, name="t", **fields):
    task = PeriodicTask.objects.create(name=name, task="tests.registered", interval=schedule, **fields)
    return task


def row(name):
    return PeriodicTask.objects.get(name=name)


def test_interval_runs_one_interval_after_creation_and_records_run_state(make_scheduler, clock, every_10s):
    task = interval_task(every_10s, args=[1])
    created = task.date_changed
    clock.now = created + timedelta(seconds=9)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = created + timedelta(seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["t"]
    assert scheduler.sent[0]["id"] == run_task_id(task.pk, created + timedelta(seconds=10))
    stored = row("t")
    assert (stored.last_run_at, stored.total_run_count) == (clock.now, 1)
    assert stored.version == task.version  # beat's own write is not an edit
    assert stored.date_changed == task.date_changed


def test_a_burst_is_sent_in_one_tick_with_batched_writes(
    make_scheduler, clock, every_10s, django_assert_max_num_queries
):
    PeriodicTask.objects.bulk_create(
        [PeriodicTask(name=f"b{i}", task="tests.registered", interval=every_10s) for i in range(1500)]
    )
    scheduler = make_scheduler()
    clock.now = PeriodicTask.objects.latest("date_changed").date_changed + timedelta(seconds=10)
    with django_assert_max_num_queries(15):  # the first tick also looks at the outbox
        scheduler.tick()
    assert len(scheduler.sent) == 1500
    # the lease lock, run state for 1000 + 500 rows, 2 reads for run ids recorded before, 2 inserts
    assert scheduler.stats["statements"] == 7
    assert scheduler.sender.statements == 2  # marked sent: 1000 + 500
    assert set(PeriodicTask.objects.values_list("total_run_count", flat=True)) == {1}
    sent_ids = {sent["id"] for sent in scheduler.sent}
    ledger = PeriodicTaskRun.objects.values_list("celery_task_id", "state")
    assert len(ledger) == 1500 and {run_id for run_id, _state in ledger} == sent_ids
    assert {state for _id, state in ledger} == {"sent"}


def test_idle_tick_costs_one_query(make_scheduler, clock, every_10s, django_assert_num_queries):
    interval_task(every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    with django_assert_num_queries(1):
        scheduler.tick()


def test_edits_are_applied_from_the_delta(make_scheduler, clock, every_10s, django_assert_num_queries):
    interval_task(every_10s, name="kept")
    scheduler = make_scheduler()
    scheduler.tick()
    new = interval_task(every_10s, name="new", args=[1])
    with django_assert_num_queries(4):  # counter, changed rows, their schedule rows, deletions
        scheduler.tick()
    assert scheduler.stats["delta_rows"] == 1 and new.pk in scheduler.plans.by_id
    assert scheduler.schedule["new"].args == [1]
    before = scheduler.plans.by_id[new.pk]
    new.args = [2]
    new.save()
    scheduler.tick()
    assert scheduler.stats["delta_rows"] == 2 and scheduler.plans.by_id[new.pk] is not before
    assert scheduler.schedule["new"].args == [2]
    PeriodicTask.objects.filter(name="new").update(enabled=False)
    scheduler.tick()
    assert "new" not in scheduler.schedule
    PeriodicTask.objects.filter(name="kept").delete()
    scheduler.tick()
    assert scheduler.schedule == {}
    assert scheduler.stats["full_loads"] == 1


def test_schedule_row_edit_reaches_beat(make_scheduler, clock, every_10s):
    interval_task(every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    every_10s.every = 60
    every_10s.save()
    scheduler.tick()
    plan = next(iter(scheduler.plans.by_id.values()))
    assert plan.schedule.run_every == timedelta(seconds=60)
    assert plan.next_run_at == row("t").date_changed + timedelta(seconds=60)


def test_raw_sql_signal_triggers_a_full_read(make_scheduler, every_10s):
    interval_task(every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    PeriodicTasks.update_changed()
    scheduler.tick()
    assert scheduler.stats["full_loads"] == 2


def test_restart_does_not_send_again(make_scheduler, clock, every_10s):
    task = interval_task(every_10s)
    clock.now = task.date_changed + timedelta(seconds=10)
    first = make_scheduler()
    first.tick()
    clock.advance(seconds=1)
    second = make_scheduler()  # the first one stops
    second.tick()
    assert first.names() == ["t"] and second.sent == []
    clock.advance(seconds=9)
    second.tick()
    assert second.names() == ["t"]


def test_clocked_one_off_runs_once_and_is_disabled(make_scheduler, clock):
    when = ClockedSchedule.objects.create(clocked_time=clock.now - timedelta(minutes=5))
    PeriodicTask.objects.create(name="once", task="tests.registered", clocked=when, one_off=True)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["once"]
    stored = row("once")
    assert not stored.enabled and stored.total_run_count == 1 and stored.last_run_at == clock.now
    scheduler.tick()
    assert make_scheduler().sent == [] and scheduler.names() == ["once"]


def test_expired_task_is_disabled_not_sent(make_scheduler, clock, every_10s):
    # The clock follows the row: its first run (10 s after it was written) comes before
    # the expiry, its second (20 s) after it.
    expires = datetime.now(UTC) + timedelta(seconds=15)
    task = interval_task(every_10s, expires=expires)
    assert task.date_changed + timedelta(seconds=20) > expires > task.date_changed + timedelta(seconds=10)
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["t"]  # the next run would come after the expiry: no next run
    clock.now = task.date_changed + timedelta(seconds=25)
    scheduler.tick()
    assert scheduler.names() == ["t"] and not row("t").enabled
    assert make_scheduler().sent == [] and row("t").total_run_count == 1


def test_start_time_in_the_future_holds_the_first_run(make_scheduler, clock, every_10s):
    start = datetime.now(UTC) + timedelta(hours=1)
    task = interval_task(every_10s, start_time=start)
    clock.now = task.date_changed + timedelta(seconds=10)  # without start_time: the first run
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = start - timedelta(seconds=1)
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = start
    scheduler.tick()
    assert scheduler.names() == ["t"]


def tomorrow_at(hour, zone):
    """Tomorrow (by the real date) at ``hour``:00 in ``zone``, in UTC: after every row's stamp."""
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_crontab_in_its_own_time_zone(make_scheduler, clock):
    cron = CrontabSchedule.objects.create(minute="0", hour="9", timezone="America/New_York")
    PeriodicTask.objects.create(name="nine", task="tests.registered", crontab=cron)
    nine = tomorrow_at(9, "America/New_York")
    clock.now = nine - timedelta(minutes=1)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = nine
    scheduler.tick()
    assert scheduler.names() == ["nine"]


def test_missed_runs_catch_up_once_then_skip(make_scheduler, clock):
    cron = CrontabSchedule.objects.create(minute="*/5", timezone="UTC")
    PeriodicTask.objects.create(
        name="c", task="tests.registered", crontab=cron, last_run_at=clock.now - timedelta(hours=3)
    )
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["c"]
    scheduler.tick()
    assert scheduler.names() == ["c"]
    assert scheduler.schedule["c"].next_run_at == clock.now + timedelta(minutes=5)


def test_starting_deadline_skips_old_missed_runs(make_scheduler, clock, celery_app):
    celery_app.conf.beat_cron_starting_deadline = 60
    cron = CrontabSchedule.objects.create(minute="*/5", timezone="UTC")
    PeriodicTask.objects.create(
        name="c", task="tests.registered", crontab=cron, last_run_at=clock.now - timedelta(hours=3)
    )
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []


def test_reenabled_crontab_does_not_fire_missed_runs(make_scheduler, clock):
    cron = CrontabSchedule.objects.create(minute="0", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="c", task="tests.registered", crontab=cron, last_run_at=clock.now - timedelta(minutes=30)
    )
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
    clock.advance(hours=5)
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=True)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []


def test_all_options_reach_the_send(make_scheduler, clock, every_10s):
    task = interval_task(
        every_10s,
        queue="q1",
        exchange="ex",
        routing_key="rk",
        priority=7,
        expire_seconds=30,
        headers={"h": "v"},
        options={"time_limit": 5},
    )
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent[0]["options"] == {
        "queue": "q1",
        "exchange": "ex",
        "routing_key": "rk",
        "priority": 7,
        "expires": 30,
        "time_limit": 5,
        "headers": {"h": "v", "periodic_task_name": "t"},
    }


def test_bad_rows_are_marked_and_the_rest_run(make_scheduler, clock, every_10s):
    good = interval_task(every_10s, name="good")
    bad = interval_task(every_10s, name="bad")
    PeriodicTask._base_manager.filter(pk=bad.pk).update(kwargs=[1, 2])  # bypasses validation
    # A row's message is read when its run falls due: that is when a bad one is found.
    clock.now = max(good.date_changed, row("bad").date_changed) + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["good"]
    assert "kwargs is not a JSON object" in row("bad").load_error
    restarted = make_scheduler()  # a restart (or the hourly full read) keeps the error
    restarted.tick()
    assert "kwargs is not a JSON object" in row("bad").load_error
    assert list(restarted.schedule) == ["good"] and restarted.names() == []
    scheduler = restarted
    bad = row("bad")
    bad.kwargs = {}
    bad.save()
    scheduler.tick()
    assert "bad" in scheduler.schedule and row("bad").load_error == ""


def test_database_error_never_ends_beat(make_scheduler, clock, every_10s, monkeypatch):
    task = interval_task(every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    real_state = PeriodicTasks.state

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(PeriodicTasks, "state", broken)
    assert scheduler.tick() == 1.0
    assert scheduler.tick() == 2.0  # backs off
    monkeypatch.setattr(PeriodicTasks, "state", real_state)
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["t"]


def test_failed_read_of_the_messages_keeps_the_runs_due(make_scheduler, clock, every_10s, monkeypatch):
    task = interval_task(every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    clock.now = task.date_changed + timedelta(seconds=10)

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(scheduler, "_read_runs", broken)
    scheduler.tick()
    assert scheduler.sent == []
    monkeypatch.undo()
    scheduler.tick()
    assert scheduler.sent[0]["id"] == run_task_id(task.pk, clock.now)
    assert row("t").total_run_count == 1


def test_failed_record_keeps_the_runs_due(make_scheduler, clock, every_10s, monkeypatch):
    from django_periodic import schedulers

    task = interval_task(every_10s)
    scheduler = make_scheduler()
    clock.now = task.date_changed + timedelta(seconds=10)

    def broken(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(schedulers, "record_batch", broken)
    scheduler.tick()
    assert scheduler.sent == []
    monkeypatch.undo()
    scheduler.tick()
    assert scheduler.names() == ["t"]
    assert scheduler.sent[0]["id"] == run_task_id(task.pk, task.date_changed + timedelta(seconds=10))


def test_broker_error_retries_the_same_run(make_scheduler, clock, every_10s, monkeypatch):
    task = interval_task(every_10s)
    scheduler = make_scheduler()
    scheduler.fail_sends = 1
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler.tick()
    assert scheduler.sent == [] and len(scheduler.sender.pending) == 1
    scheduler.sender.pending[0].retry_at = 0  # due for retry now
    scheduler.tick()
    assert scheduler.sent[0]["id"] == run_task_id(task.pk, clock.now)
    assert row("t").total_run_count == 1


def test_code_defined_schedule_is_stored_and_pruned(make_scheduler, celery_app, clock):
    celery_app.conf.beat_schedule = {
        "every-minute": {
            "task": "tests.registered",
            "schedule": 60.0,
            "args": (1,),
            "options": {"queue": "q", "expires": 30, "countdown": 2, "priority": 3},
        },
    }
    make_scheduler()
    stored = row("every-minute")
    assert stored.defined_in_code and stored.queue == "q" and stored.priority == 3
    assert (stored.expire_seconds, stored.options, stored.args) == (30, {"countdown": 2}, [1])
    version = stored.version
    make_scheduler()
    assert row("every-minute").version == version  # unchanged entries are not rewritten
    celery_app.conf.beat_schedule = {}
    make_scheduler()
    assert not row("every-minute").enabled


def test_backend_cleanup_is_installed_when_results_expire(make_scheduler, celery_app):
    celery_app.conf.result_expires = timedelta(days=1)
    make_scheduler()
    cleanup = row("celery.backend_cleanup")
    assert (cleanup.crontab.minute, cleanup.crontab.hour, cleanup.expire_seconds) == ("0", "4", 43200)


def test_lazy_scheduler_loads_on_first_tick(make_scheduler, every_10s):
    interval_task(every_10s)
    scheduler = make_scheduler(lazy=True)
    assert scheduler.schedule == {}
    scheduler.tick()
    assert list(scheduler.schedule) == ["t"]


def test_sleep_is_bounded_by_next_due_and_poll(make_scheduler, clock, every_10s):
    task = interval_task(every_10s)
    clock.now = task.date_changed + timedelta(seconds=7)
    scheduler = make_scheduler(poll_interval=100)
    assert scheduler.tick() == pytest.approx(3.0, abs=0.01)


def test_skip_policy_drops_runs_that_became_too_late(make_scheduler, clock):
    cron = CrontabSchedule.objects.create(minute="*", timezone="UTC")
    PeriodicTask.objects.create(
        name="c", task="tests.registered", crontab=cron, missed_runs="skip", grace_seconds=30
    )
    scheduler = make_scheduler()
    scheduler.tick()
    clock.advance(minutes=5)  # beat could not tick for five minutes (a database outage)
    scheduler.tick()
    assert scheduler.sent == []
    assert scheduler.schedule["c"].next_run_at == clock.now + timedelta(minutes=1)
    clock.advance(minutes=1, seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["c"]


def test_jitter_delays_the_send_but_not_the_identity(make_scheduler, clock):
    from django_periodic.timing.plans import jitter

    cron = CrontabSchedule.objects.create(minute="0", hour="13", timezone="UTC")
    task = PeriodicTask.objects.create(name="j", task="tests.registered", crontab=cron, jitter_seconds=600)
    slot = tomorrow_at(13, "UTC")
    delay = jitter(task.pk, slot, 600)
    clock.now = slot - timedelta(hours=1)
    scheduler = make_scheduler()
    clock.now = slot + delay - timedelta(seconds=1)
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = slot + delay
    scheduler.tick()
    assert scheduler.sent[0]["id"] == run_task_id(task.pk, slot)


@pytest.mark.django_db(transaction=True)
def test_use_tz_false_keeps_times_right(make_scheduler, clock, settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "America/New_York"
    interval = IntervalSchedule.objects.create(every=10, period="seconds")
    task = PeriodicTask.objects.create(name="naive", task="tests.registered", interval=interval)
    assert task.date_changed.tzinfo is None  # Django's naive local time
    from django.utils import timezone

    created = timezone.make_aware(task.date_changed, timezone.get_default_timezone())
    clock.now = created.astimezone(UTC) + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["naive"]
    stored = PeriodicTask.objects.get()
    assert stored.last_run_at == timezone.make_naive(clock.now, timezone.get_default_timezone())
    scheduler.tick()
    clock.advance(seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["naive", "naive"]
    restarted = make_scheduler()  # the full read takes last_run_at back as naive local time
    restarted.tick()
    assert restarted.names() == []
    clock.advance(seconds=10)
    restarted.tick()
    assert restarted.names() == ["naive"]


def test_solar_row_without_the_extra_is_marked_not_dropped(make_scheduler, monkeypatch, every_10s):
    import sys

    from django_periodic.models import SolarSchedule

    solar = SolarSchedule.objects.create(event="sunset", latitude=10, longitude=20)
    PeriodicTask.objects.create(name="sun", task="tests.registered", solar=solar)
    interval_task(every_10s, name="other")
    monkeypatch.setitem(sys.modules, "ephem", None)
    scheduler = make_scheduler()
    assert list(scheduler.schedule) == ["other"]
    assert "pip install 'django-periodic[solar]'" in row("sun").load_error


def test_celery_periodic_sync_never_drops_runs_waiting_for_the_broker(make_scheduler, clock, every_10s):
    """Celery's loop may call ``_do_sync()``: a run waiting for the broker goes out after it, once."""
    task = interval_task(every_10s)
    scheduler = make_scheduler()
    scheduler.fail_sends = 1
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler.tick()
    assert not scheduler.should_sync()
    scheduler._do_sync()  # what Celery's Scheduler calls when should_sync() says so
    for pending in scheduler.sender.pending:
        pending.retry_at = 0  # the back-off is over (test_broker_retry.py times it)
    scheduler.tick()
    assert [sent["id"] for sent in scheduler.sent] == [run_task_id(task.pk, clock.now)]
    assert PeriodicTaskRun.objects.get().state == "sent"


def test_close_from_a_signal_during_a_tick_waits_for_the_tick(make_scheduler, monkeypatch):
    """SIGTERM lands while a tick queries: Celery's handler calls close() and raises SystemExit.

    The close inside the handler must leave the connection and the lease alone (the tick is
    half-way through a query); Celery's second close(), after the tick unwound, releases both.
    """
    scheduler = make_scheduler()
    scheduler.tick()
    held_during_handler = []

    def celerys_handler(signum, frame):
        scheduler.close()
        held_during_handler.append(scheduler.lease.epoch is not None)
        raise SystemExit()

    previous = signal.signal(signal.SIGUSR1, celerys_handler)
    real_state = PeriodicTasks.state

    def state_interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGUSR1)  # delivered while the tick is in its query
        return real_state(*args, **kwargs)

    monkeypatch.setattr(PeriodicTasks, "state", state_interrupted)
    try:
        with pytest.raises(SystemExit):
            scheduler.tick()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert held_during_handler == [True]  # the handler's close() released nothing
    assert (
        BeatLease.objects.get().expires_at
        > PeriodicTasks.objects.annotate(now=Now()).values_list("now", flat=True)[0]
    )
    scheduler.close()  # Celery calls it again once the tick has unwound
    assert scheduler.lease.epoch is None
    assert (
        BeatLease.objects.get().expires_at
        <= PeriodicTasks.objects.annotate(now=Now()).values_list("now", flat=True)[0]
    )


def test_a_run_carries_the_rows_message_as_it_is_when_the_run_falls_due(make_scheduler, clock, every_10s):
    task = interval_task(every_10s, args=[1])
    scheduler = make_scheduler(poll_interval=3600)  # no poll between the load and the run
    scheduler.tick()
    PeriodicTask.objects.filter(pk=task.pk).update(args=[2], kwargs={"k": "v"}, queue="q2")
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler.tick()
    assert [(s["args"], s["kwargs"], s["options"]["queue"]) for s in scheduler.sent] == [
        ([2], {"k": "v"}, "q2")
    ]


def test_a_task_deleted_or_disabled_before_its_run_is_neither_sent_nor_recorded(
    make_scheduler, clock, every_10s
):
    gone = interval_task(every_10s, name="gone")
    off = interval_task(every_10s, name="off")
    kept = interval_task(every_10s, name="kept")
    scheduler = make_scheduler(poll_interval=3600)
    scheduler.tick()
    gone.delete()
    PeriodicTask.objects.filter(pk=off.pk).update(enabled=False)
    clock.now = kept.date_changed + timedelta(seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["kept"]
    assert row("off").total_run_count == 0 and row("off").last_run_at is None
    assert list(scheduler.schedule) == ["kept"]


def test_tasks_sent_together_share_one_run_state_in_memory(make_scheduler, clock, every_10s):
    """What keeps 100,000 tasks in a few tens of MiB: equal run states are one object."""
    for name in ("a", "b", "c"):
        interval_task(every_10s, name=name)
    scheduler = make_scheduler()
    clock.now = row("c").date_changed + timedelta(seconds=10)
    scheduler.tick()
    assert sorted(scheduler.names()) == ["a", "b", "c"]
    states = {id(plan.state) for plan in scheduler.plans.by_id.values()}
    assert len(states) == 1
    scheduler = make_scheduler()  # a restart reads them back: one state again
    scheduler.tick()
    assert len({id(plan.state) for plan in scheduler.plans.by_id.values()}) == 1


def test_a_crontab_written_around_validation_to_match_no_date_gets_a_load_error(make_scheduler, clock):
    never = CrontabSchedule.objects.create(minute="0", hour="0", day_of_month="28", month_of_year="2")
    PeriodicTask.objects.create(name="30 February", task="tests.registered", crontab=never)
    with connection.cursor() as cursor:  # written around validation, which refuses it
        table = connection.ops.quote_name(CrontabSchedule._meta.db_table)
        cursor.execute(f"UPDATE {table} SET day_of_month = '30' WHERE id = %s", [never.pk])
    scheduler = make_scheduler()
    scheduler.tick()
    task = row("30 February")
    assert task.enabled
    assert task.load_error == (
        "its schedule cannot be read: '30' is not a valid day_of_month: no month in month_of_year has such "
        "a day. Use 1-31, '*', lists, ranges or steps."
    )
    assert list(scheduler.schedule) == []
    never.save()  # 28 again; the edit re-stamps the task, beat reads it and clears the error
    scheduler.tick()
    assert row("30 February").load_error == "" and list(scheduler.schedule) == ["30 February"]


def test_a_subclass_that_narrows_enabled_models_qs_schedules_only_its_subset(celery_app, clock, every_10s):
    from django_periodic.beat.leadership import Lease
    from tests.conftest import RecordingScheduler

    class ReportsOnly(RecordingScheduler):
        def enabled_models_qs(self):
            return super().enabled_models_qs().filter(queue="reports")

    interval_task(every_10s, name="report", queue="reports")
    interval_task(every_10s, name="other")
    scheduler = ReportsOnly(
        app=celery_app, clock=clock, poll_interval=0, lease=Lease(seconds=3600, renew_every=1800)
    )
    try:
        scheduler.tick()
        assert sorted(scheduler.schedule) == ["report"]
        interval_task(every_10s, name="late report", queue="reports")
        interval_task(every_10s, name="late other")
        scheduler.tick()  # the delta keeps to the subset too
        assert sorted(scheduler.schedule) == ["late report", "report"]
    finally:
        scheduler.close()


def test_the_start_banner_says_only_what_stays_true(make_scheduler, every_10s, celery_app, clock):
    from tests.conftest import RecordingScheduler

    interval_task(every_10s)
    lazy = make_scheduler(lazy=True)  # what Celery's banner is printed from, before the first tick
    assert "lease -> 'default', 3600s: not taken yet" in lazy.info
    assert "task(s) loaded" not in lazy.info
    leader = make_scheduler()
    assert "held by this beat, 1 task(s) loaded" in leader.info
    standby = RecordingScheduler(app=celery_app, clock=clock, lease=Lease(seconds=3600, renew_every=1800))
    assert "held by another beat (this one stands by)" in standby.info
