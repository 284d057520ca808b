"""``manage.py periodic_tasks``: next runs and the current leader."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from django_periodic.beat.leadership import Lease
from django_periodic.models import ClockedSchedule, CrontabSchedule, PeriodicTask, SolarSchedule

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("periodic_tasks", *args, stdout=out)
    return out.getvalue()


def test_next_runs_across_a_dst_gap():
    cron = CrontabSchedule.objects.create(minute="30", hour="2", timezone="Europe/Berlin")
    PeriodicTask.objects.create(name="nightly", task="t", crontab=cron)
    out = run("next", "--task", "nightly", "-n", "3", "--after", "2027-03-27T12:00:00+00:00")
    assert out.splitlines()[1:] == [
        "  2027-03-28T01:00:00+00:00  2027-03-28T03:00:00+02:00",
        "  2027-03-29T00:30:00+00:00  2027-03-29T02:30:00+02:00",
        "  2027-03-30T00:30:00+00:00  2027-03-30T02:30:00+02:00",
    ]


def test_next_for_an_unknown_task_or_bad_instant_says_so():
    with pytest.raises(CommandError, match="No periodic task is named 'nope'"):
        run("next", "--task", "nope")
    cron = CrontabSchedule.objects.create()
    PeriodicTask.objects.create(name="x", task="t", crontab=cron)
    with pytest.raises(CommandError, match="ISO 8601"):
        run("next", "--task", "x", "--after", "tomorrow")


def test_next_for_a_solar_task():
    solar = SolarSchedule.objects.create(event="sunrise", latitude=52.52, longitude=13.405)
    PeriodicTask.objects.create(name="sunrise", task="t", solar=solar)
    out = run("next", "--task", "sunrise", "-n", "2", "--after", "2026-06-01T12:00:00+00:00")
    first = datetime.fromisoformat(out.splitlines()[1].strip())
    assert datetime(2026, 6, 2, 2, 40, tzinfo=UTC) < first < datetime(2026, 6, 2, 2, 50, tzinfo=UTC)


def test_leader_shows_holder_epoch_and_since():
    assert "No beat has taken the lease yet." in run("leader")
    lease = Lease()
    lease.maintain()
    out = run("leader")
    assert f"default: {lease.holder}, epoch 1, leader since" in out and "valid until" in out


def make_run(task, minutes_ago, state="succeeded", **fields):
    from datetime import timedelta

    from django.utils import timezone

    from django_periodic.beat.publish import run_task_id
    from django_periodic.models import PeriodicTaskRun

    when = timezone.now() - timedelta(minutes=minutes_ago)
    return PeriodicTaskRun.objects.create(
        task=task,
        task_name=task.name,
        scheduled_at=when,
        celery_task_id=run_task_id(task.pk, when),
        state=state,
        recorded_at=when,
        started_at=when,
        finished_at=when + timedelta(seconds=2),
        **fields,
    )


def test_runs_lists_the_last_runs_newest_first():
    cron = CrontabSchedule.objects.create(minute="*")
    task = PeriodicTask.objects.create(name="minutely", task="proj.tick", crontab=cron)
    other = PeriodicTask.objects.create(name="other", task="proj.tock", crontab=cron)
    make_run(task, 3)
    failed = make_run(task, 1, state="failed", reason="ValueError: boom", worker="w1@host")
    make_run(other, 2)
    lines = run("runs", "--task", "minutely").splitlines()
    assert lines[0].split() == [
        "scheduled",
        "for",
        "task",
        "state",
        "trigger",
        "duration",
        "worker",
        "task",
        "id",
        "reason",
    ]
    assert (
        len(lines) == 3 and "failed" in lines[1] and "2.000s" in lines[1] and "ValueError: boom" in lines[1]
    )
    assert failed.celery_task_id in lines[1] and "w1@host" in lines[1]
    assert len(run("runs", "-n", "2").splitlines()) == 3  # header and the newest two of all tasks
    with pytest.raises(CommandError, match="No periodic task is named 'nope'"):
        run("runs", "--task", "nope")


def test_prune_runs_keeps_the_newest_per_task_and_never_an_unfinished_run(settings):
    from django_periodic.models import PeriodicTaskRun

    settings.DJANGO_PERIODIC = {**settings.DJANGO_PERIODIC, "RUNS_KEEP_PER_TASK": 3, "RUNS_KEEP_DAYS": 1}
    cron = CrontabSchedule.objects.create(minute="*")
    task = PeriodicTask.objects.create(name="minutely", task="proj.tick", crontab=cron)
    for minutes in range(1, 8):
        make_run(task, minutes)
    stuck = make_run(task, 60 * 24 * 3, state="sent")  # three days old, never finished
    make_run(task, 60 * 24 * 2)  # two days old: past RUNS_KEEP_DAYS
    assert run("prune-runs") == "Deleted 5 run(s).\n"
    left = set(PeriodicTaskRun.objects.values_list("pk", flat=True))
    newest = set(
        PeriodicTaskRun.objects.filter(state="succeeded")
        .order_by("-scheduled_at")
        .values_list("pk", flat=True)[:3]
    )
    assert left == newest | {stuck.pk}


def test_demo_schedules_creates_missing_sample_tasks_and_leaves_existing_ones():
    out = StringIO()
    call_command("demo_schedules", stdout=out)
    assert out.getvalue().count(": created\n") == 3 and "3 sample tasks ready." in out.getvalue()
    one_off = PeriodicTask.objects.get(name="demo: one-off in 15 seconds")
    # As after a demo that ran: beat disabled the one-off; the user edited a task.
    PeriodicTask.objects.filter(pk=one_off.pk).update(enabled=False, total_run_count=1)
    PeriodicTask.objects.filter(name="demo: record every 10 seconds").update(args=[7])

    out = StringIO()
    call_command("demo_schedules", stdout=out)
    assert out.getvalue().count(": already there, left as it is\n") == 3
    again = PeriodicTask.objects.get(name="demo: one-off in 15 seconds")
    assert (again.pk, again.enabled, again.total_run_count) == (one_off.pk, False, 1)
    assert again.clocked_id == one_off.clocked_id and ClockedSchedule.objects.count() == 1
    assert PeriodicTask.objects.get(name="demo: record every 10 seconds").args == [7]
    assert PeriodicTask.objects.count() == 3


def test_import_from_django_celery_beat_without_its_tables_says_where_to_look():
    with pytest.raises(CommandError, match="django_celery_beat_periodictask is not in the database default"):
        run("import-django-celery-beat")
    assert not PeriodicTask.objects.exists()
