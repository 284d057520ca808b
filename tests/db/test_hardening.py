"""No row, option or run stops beat: each one that cannot go on is marked, the rest keeps going."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from django_periodic.beat.leadership import Lease
from django_periodic.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTaskRun,
)
from django_periodic.models.dbtime import to_db
from django_periodic.schedulers import DatabaseScheduler

pytestmark = pytest.mark.django_db


@pytest.fixture
def healthy(clock):
    """An every-10 s task, and the clock set to its first run."""
    task = PeriodicTask.objects.create(
        name="healthy",
        task="tests.registered",
        interval=IntervalSchedule.objects.create(every=10, period="seconds"),
    )
    clock.now = task.date_changed + timedelta(seconds=10)
    return task


def error_of(name):
    return PeriodicTask.objects.get(name=name).load_error


def test_a_clocked_run_at_the_end_of_the_calendar_with_jitter_is_planned(make_scheduler, clock, healthy):
    end = ClockedSchedule.objects.create(clocked_time=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    PeriodicTask.objects.create(name="end", task="x", clocked=end, one_off=True, jitter_seconds=3600)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["healthy"]
    task = PeriodicTask.objects.get(name="end")
    plan = scheduler.plans.get(task.pk)
    assert plan is not None and plan.due_at(plan.next_run_at) == end.clocked_time  # no room to delay
    assert task.load_error == ""


def test_an_interval_whose_next_run_is_past_the_year_9999_runs_once_then_is_marked(
    make_scheduler, clock, healthy
):
    huge = IntervalSchedule.objects.create(every=3_650_000, period="days")
    task = PeriodicTask.objects.create(name="huge", task="x", interval=huge, start_time=clock.now)
    scheduler = make_scheduler()
    scheduler.tick()
    assert sorted(scheduler.names()) == ["healthy", "huge"]
    assert scheduler.plans.get(task.pk) is None  # it has no next run
    assert PeriodicTask.objects.get(name="huge").total_run_count == 1
    clock.advance(seconds=10)
    restarted = make_scheduler()
    restarted.tick()
    assert restarted.names() == ["healthy"]  # not sent again at the next start ...
    huge_row = PeriodicTask.objects.get(name="huge")
    assert not huge_row.enabled and "9999" in huge_row.load_error  # the row says why it ended


def test_an_iso_expires_option_is_read_as_a_time_while_the_broker_is_down(make_scheduler, clock, healthy):
    PeriodicTask.objects.filter(name="healthy").update(options={"expires": "2099-01-01T00:00:00+00:00"})
    clock.now = PeriodicTask.objects.get(name="healthy").date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.fail_sends = 1
    scheduler.tick()
    assert scheduler.sent == [] and len(scheduler.sender.pending) == 1
    scheduler.sender.pending[0].retry_at = 0.0
    scheduler.tick()  # the retry reads its expiry: no TypeError
    assert scheduler.names() == ["healthy"]
    assert scheduler.sent[0]["options"]["expires"] == datetime(2099, 1, 1, tzinfo=UTC)


def test_an_expires_option_past_is_dropped_from_the_retry_queue(make_scheduler, clock, healthy):
    soon = (clock.now + timedelta(seconds=5)).isoformat()
    PeriodicTask.objects.filter(name="healthy").update(options={"expires": soon})
    clock.now = PeriodicTask.objects.get(name="healthy").date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.fail_sends = 1
    scheduler.tick()
    clock.advance(seconds=60)
    scheduler.sender.pending[0].retry_at = 0.0
    scheduler.sender.retry_due(clock.now)
    assert scheduler.sent == [] and scheduler.sender.pending == []
    assert PeriodicTaskRun.objects.get().state == "not_sent"


def test_an_unreadable_option_written_around_validation_marks_the_row(make_scheduler, clock, healthy):
    bad = PeriodicTask.objects.create(name="bad", task="x", interval=healthy.interval)
    PeriodicTask.objects.filter(pk=bad.pk).update(options={"countdown": "soon"})
    clock.now = PeriodicTask.objects.get(name="bad").date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["healthy"]
    assert "countdown" in error_of("bad") and "a number of seconds" in error_of("bad")


def test_a_crontab_whose_time_zone_no_longer_exists_does_not_stop_the_start(make_scheduler, clock, healthy):
    cron = CrontabSchedule.objects.create(minute="*", timezone="Europe/Berlin")
    PeriodicTask.objects.create(name="mars", task="x", crontab=cron)
    table = CrontabSchedule._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET timezone = %s WHERE id = %s", ["Mars/Olympus_Mons", cron.pk])
    clock.now = max(clock.now, PeriodicTask.objects.get(name="mars").date_changed + timedelta(seconds=10))
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["healthy"]
    assert "Mars/Olympus_Mons" in error_of("mars")


def test_a_countdown_celery_would_overflow_on_marks_its_row_and_the_batch_goes_on(celery_app, clock):
    every = IntervalSchedule.objects.create(every=10, period="seconds")
    for name in ("first", "bad", "last"):
        PeriodicTask.objects.create(name=name, task="tests.registered", interval=every)
    # written around validation, which refuses it
    PeriodicTask.objects.filter(name="bad").update(options={"countdown": 10**12})
    clock.now = PeriodicTask.objects.latest("date_changed").date_changed + timedelta(seconds=10)
    scheduler = DatabaseScheduler(app=celery_app, clock=clock, poll_interval=0, lease=Lease(seconds=3600))
    scheduler.tick()  # the real send path: Celery's apply_async on the memory broker
    assert dict(PeriodicTaskRun.objects.values_list("task_name", "state")) == {
        "first": "sent",
        "last": "sent",
    }
    assert "countdown" in error_of("bad")
    assert scheduler.sender.pending == []


def test_validation_refuses_time_options_beat_could_not_send():
    every = IntervalSchedule.objects.create(every=10, period="seconds")
    for options in ({"countdown": 10**12}, {"expires": "tomorrow"}, {"eta": 5}, {"countdown": float("nan")}):
        with pytest.raises(ValidationError) as caught:
            PeriodicTask.objects.create(name="t", task="x", interval=every, options=options)
        (option,) = options
        assert option in " ".join(caught.value.message_dict["options"])
    PeriodicTask.objects.create(name="ok", task="x", interval=every, options={"expires": 60, "countdown": 5})


def test_an_option_celery_overflows_on_is_marked_not_sent_and_the_batch_goes_on(
    celery_app, clock, monkeypatch
):
    every = IntervalSchedule.objects.create(every=10, period="seconds")
    names = ["first", "bad", "last"]
    for name in names:
        PeriodicTask.objects.create(name=name, task="tests.registered", interval=every)
    clock.now = PeriodicTask.objects.latest("date_changed").date_changed + timedelta(seconds=10)
    scheduler = DatabaseScheduler(app=celery_app, clock=clock, poll_interval=0, lease=Lease(seconds=3600))
    real_send = DatabaseScheduler.send_run

    def send_run(run, run_id, producer):
        if run.name == "bad":  # what apply_async does with countdown=10**12
            run.options["countdown"] = 10**12
        return real_send(scheduler, run, run_id, producer)

    monkeypatch.setattr(scheduler.sender, "send_run", send_run)
    scheduler.tick()
    rows = {run.task_name: run for run in PeriodicTaskRun.objects.all()}
    assert {name: rows[name].state for name in names} == {"first": "sent", "bad": "not_sent", "last": "sent"}
    assert "date value out of range" in rows["bad"].reason
    assert scheduler.sender.pending == []  # not taken for a broker error: nothing waits for a retry


def test_an_unexpected_error_from_one_run_is_not_taken_for_the_broker(make_scheduler, clock, healthy):
    PeriodicTask.objects.create(name="odd", task="x", interval=healthy.interval)
    clock.now = PeriodicTask.objects.get(name="odd").date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    real = scheduler.send_run

    def send_run(run, run_id, producer):
        if run.name == "odd":
            raise KeyError("a bug in a custom send_run")
        return real(run, run_id, producer)

    scheduler.sender.send_run = send_run
    scheduler.tick()
    assert scheduler.names() == ["healthy"] and scheduler.sender.pending == []
    assert PeriodicTaskRun.objects.get(task_name="odd").state == "not_sent"


def test_an_unexpected_error_in_the_tick_is_logged_and_beat_goes_on(make_scheduler, clock, healthy, caplog):
    scheduler = make_scheduler()
    scheduler.tick()

    def broken(*args, **kwargs):
        raise RuntimeError("something no guard knew")

    scheduler.plans.pop_due = broken
    with caplog.at_level(logging.ERROR, logger="django_periodic.beat"):
        wait = scheduler.tick()
    assert wait >= 1.0
    assert any(r.levelno == logging.ERROR and "beat keeps running" in r.getMessage() for r in caplog.records)
    del scheduler.plans.pop_due
    clock.advance(seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["healthy", "healthy"]


def test_a_plan_that_raises_is_dropped_and_marked_and_the_others_are_sent(make_scheduler, clock, healthy):
    PeriodicTask.objects.create(name="odd", task="x", interval=healthy.interval)
    clock.now = PeriodicTask.objects.get(name="odd").date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()
    odd = PeriodicTask.objects.get(name="odd")

    class Broken:
        run_every = timedelta(seconds=10)

    scheduler.plans.get(odd.pk).schedule = Broken()  # not a schedule type timing knows
    clock.advance(seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["healthy", "odd", "healthy"]
    assert scheduler.plans.get(odd.pk) is None
    assert "its next run cannot be computed" in error_of("odd")


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("minute", "5/15", "needs '*' or a range before the '/'"),
        ("minute", "1-", "the range '1-' has no end"),
        ("hour", "1,,2", "an empty item between two commas"),
        ("hour", "-3", "negative"),
        ("day_of_week", "mon-", "has no end"),
        ("minute", "5/15/2", "is not a value, a range (1-5) or a step (*/5)"),
    ],
)
def test_crontab_errors_speak_of_the_field_not_of_celerys_parser(field, value, says):
    with pytest.raises(ValidationError) as caught:
        CrontabSchedule.objects.create(**{field: value})
    message = " ".join(caught.value.message_dict[field])
    assert says in message and f"not a valid {field}" in message
    assert "weekday literal" not in message and "Invalid" not in message


@pytest.mark.parametrize("term", ["\u00b2", "\u0661\u0660", "every \u00b3 seconds"])
def test_interval_search_with_unicode_digits_is_not_a_server_error(admin_client, term):
    IntervalSchedule.objects.create(every=10, period="seconds")
    response = admin_client.get("/admin/django_periodic/intervalschedule/", {"q": term})
    assert response.status_code == 200


def test_missed_runs_all_sends_the_most_recent_runs_through_the_scheduler(make_scheduler, clock):
    every_second = IntervalSchedule.objects.create(every=1, period="seconds")
    task = PeriodicTask.objects.create(
        name="all", task="tests.registered", interval=every_second, missed_runs="all", missed_runs_limit=10
    )
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=task.date_changed)
    clock.now = PeriodicTask.objects.get(pk=task.pk).date_changed + timedelta(days=5)
    scheduler = make_scheduler()
    for _ in range(50):  # beat ticks again at once while runs are due
        scheduler.tick()
        if scheduler.plans.next_due_at() > clock.now:
            break
    slots = sorted(PeriodicTaskRun.objects.values_list("scheduled_at", flat=True))
    assert len(scheduler.sent) == 10 and len(slots) == 10
    assert all(clock.now - timedelta(seconds=10) <= slot <= clock.now for slot in slots)


@pytest.mark.django_db(transaction=True)
def test_use_tz_false_a_run_in_the_repeated_hour_is_not_sent_again(make_scheduler, clock, settings):
    settings.USE_TZ, settings.TIME_ZONE = False, "Europe/Berlin"
    every_10m = IntervalSchedule.objects.create(every=10, period="minutes")
    task = PeriodicTask.objects.create(name="naive", task="tests.registered", interval=every_10m)
    # it ran at 01:30 UTC on 2026-10-25: 02:30 in Berlin's second 02:00-03:00 (standard time)
    ran = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=to_db(ran))
    clock.now = datetime(2026, 10, 25, 1, 31, tzinfo=UTC)  # a minute later: an edit, a restart
    stored = PeriodicTask.objects.get(pk=task.pk)
    assert stored.upcoming_runs(clock.now, 1) == [datetime(2026, 10, 25, 1, 40, tzinfo=UTC)]
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []  # read as 00:30 UTC, it was sent again at once
    clock.now = datetime(2026, 10, 25, 1, 40, tzinfo=UTC)
    scheduler.tick()
    assert scheduler.names() == ["naive"]


@pytest.mark.django_db(transaction=True)
def test_use_tz_false_a_run_in_the_first_occurrence_reads_as_such(make_scheduler, clock, settings):
    settings.USE_TZ, settings.TIME_ZONE = False, "Europe/Berlin"
    every_hour = IntervalSchedule.objects.create(every=1, period="hours")
    task = PeriodicTask.objects.create(name="naive", task="tests.registered", interval=every_hour)
    # it ran at 00:30 UTC (02:30 summer time); at 01:15 UTC the second 02:30 is still to come
    ran = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=to_db(ran))
    clock.now = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    scheduler.tick()
    assert scheduler.names() == ["naive"]


def test_an_unknown_task_name_is_warned_once_when_beat_reads_it(make_scheduler, clock, healthy, caplog):
    every = healthy.interval
    for i in range(3):
        PeriodicTask.objects.create(name=f"typo{i}", task="tests.registred", interval=every)
    with caplog.at_level(logging.WARNING, logger="django_periodic.beat"):
        scheduler = make_scheduler()
        scheduler.tick()
        PeriodicTask.objects.create(name="typo3", task="tests.registred", interval=every)
        PeriodicTask.objects.create(name="other", task="tests.elsewhere", interval=every)
        scheduler.tick()  # the delta
        for _ in range(3):
            clock.advance(seconds=10)
            scheduler.tick()
    warnings = [
        r.getMessage() for r in caplog.records if "not registered in beat's Celery app" in r.getMessage()
    ]
    assert len(warnings) == 2
    assert "'tests.registred'" in warnings[0] and "'tests.elsewhere'" in warnings[1]
    assert "typo0" in scheduler.names()  # a warning, not a refusal: sent by name


def test_the_admin_warns_of_a_task_name_this_project_does_not_register(admin_client):
    every = IntervalSchedule.objects.create(every=10, period="seconds")
    unknown = PeriodicTask.objects.create(name="u", task="proj.only_on_workers", interval=every)
    known = PeriodicTask.objects.create(name="k", task="testproject.tasks.record_run", interval=every)
    page = admin_client.get(f"/admin/django_periodic/periodictask/{unknown.pk}/change/")
    assert "is not registered in this project&#x27;s Celery app" in page.content.decode()
    page = admin_client.get(f"/admin/django_periodic/periodictask/{known.pk}/change/")
    assert "is not registered" not in page.content.decode()


@pytest.mark.parametrize("bad", ["2026-02-30T00:00:00", "2026-01-01T00:00:00+24:00", 10**400])
def test_an_impossible_time_option_marks_its_row_at_every_read(make_scheduler, clock, healthy, bad):
    every = healthy.interval
    with pytest.raises(ValidationError):  # refused with the field's message, not a ValueError
        PeriodicTask.objects.create(name="x", task="x", interval=every, options={"expires": bad})
    task = PeriodicTask.objects.create(name="bad", task="x", interval=every)
    PeriodicTask.objects.filter(pk=task.pk).update(options={"expires": bad})
    clock.now = PeriodicTask.objects.get(pk=task.pk).date_changed + timedelta(seconds=10)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["healthy"] and "expires" in error_of("bad")
    restarted = make_scheduler()  # the full read rechecks the marked row
    restarted.tick()
    clock.advance(seconds=10)
    restarted.tick()
    assert restarted.names() == ["healthy"] and "expires" in error_of("bad")


@pytest.mark.parametrize("jitter", [None, 5])
def test_skip_without_a_grace_period_still_sends_a_run_a_moment_late(make_scheduler, clock, jitter):
    every = IntervalSchedule.objects.create(every=60, period="seconds")
    task = PeriodicTask.objects.create(
        name="s", task="tests.registered", interval=every, missed_runs="skip", jitter_seconds=jitter
    )
    scheduler = make_scheduler()
    sent = 0
    clock.now = task.date_changed
    for _ in range(5):
        clock.now = (
            scheduler.plans.next_due_at() + timedelta(milliseconds=2) if scheduler.plans.heap else clock.now
        )
        scheduler.tick()
        sent = len(scheduler.sent)
    assert sent >= 4  # a tick 2 ms after the due time is not a missed run


def test_runs_left_recorded_when_the_lease_looked_gone_go_out_if_this_beat_still_leads(
    make_scheduler, clock, healthy
):
    scheduler = make_scheduler()
    answers = iter([False])  # the sender's first look at the lease: gone (its own clock ran out)
    scheduler.sender.still_leader = lambda: next(answers, True)
    scheduler.tick()
    assert scheduler.sent == [] and PeriodicTaskRun.objects.get().state == "recorded"
    scheduler.tick()  # the lease was renewed after all: the outbox sends the run, same id
    run = PeriodicTaskRun.objects.get()
    assert scheduler.names() == ["healthy"] and run.state == "sent"
    assert scheduler.sent[0]["id"] == run.celery_task_id
