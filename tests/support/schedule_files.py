"""Helpers for the schedule-file and natural-key tests: a varied set of tasks, the commands."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

from django.core.management import call_command

from django_periodic.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTaskRun,
    SolarSchedule,
)
from django_periodic.models.changes import PeriodicTasks

SCHEDULE_MODELS = (IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule)


def version() -> int:
    return PeriodicTasks.state().version


def changed_since(v: int) -> set[str]:
    return set(PeriodicTask.objects.filter(version__gt=v).values_list("name", flat=True))


def run(*args: str) -> str:
    out = StringIO()
    call_command("periodic_tasks", *args, stdout=out)
    return out.getvalue()


def export(*args: str) -> str:
    return run("export", *args)


def empty_tables() -> None:
    PeriodicTaskRun.objects.all().delete()
    PeriodicTask.objects.all().delete()
    for model in SCHEDULE_MODELS:
        model.objects.all().delete()
    assert not PeriodicTask.objects.exists()


def make_varied_tasks() -> None:
    """Every schedule kind, two zones for one cron, JSON values, options, expiry, one-off, disabled."""
    every_10s = IntervalSchedule.objects.create(every=10, period="seconds")
    daily = IntervalSchedule.objects.create(every=1, period="days")
    berlin = CrontabSchedule.objects.create(
        minute="30", hour="2", day_of_week="1-5", timezone="Europe/Berlin"
    )
    tokyo = CrontabSchedule.objects.create(minute="30", hour="2", day_of_week="1-5", timezone="Asia/Tokyo")
    solar = SolarSchedule.objects.create(event="sunrise", latitude=52.52, longitude=13.405)
    clocked = ClockedSchedule.objects.create(clocked_time=datetime(2030, 1, 1, 9, 0, 0, 123456, tzinfo=UTC))
    create = PeriodicTask.objects.create
    create(
        name="poll feeds",
        task="proj.poll",
        interval=every_10s,
        args=[1, "two", {"three": None}],
        kwargs={"source": "rss", "ids": [1, 2]},
        options={"time_limit": 60, "countdown": 5},
        headers={"tenant": "acme"},
        queue="feeds",
        exchange="ex",
        routing_key="feeds.poll",
        priority=7,
        expire_seconds=30,
    )
    create(
        name="nightly report (Berlin)",
        task="proj.report",
        crontab=berlin,
        description="Nächtlicher Bericht ☾",
        expires=datetime(2031, 6, 30, 22, 0, tzinfo=UTC),
        missed_runs="all",
        missed_runs_limit=3,
        grace_seconds=300,
    )
    create(
        name="nightly report (Tokyo)",
        task="proj.report",
        crontab=tokyo,
        overlap="skip",
        overlap_timeout=900,
        jitter_seconds=20,
    )
    create(name="open shutters", task="proj.shutters", solar=solar, kwargs={"open": True})
    create(name="launch", task="proj.launch", clocked=clocked, one_off=True)
    create(
        name="once",
        task="proj.once",
        interval=daily,
        one_off=True,
        start_time=datetime(2027, 1, 1, tzinfo=UTC),
    )
    create(name="paused", task="proj.paused", interval=daily, enabled=False)
    create(name="from settings", task="proj.code", interval=daily, defined_in_code=True)
