"""Seed django-celery-beat's tables with its own migrations and models; print what it stored.

    DJANGO_SETTINGS_MODULE=testproject.settings_dcb DJANGO_PERIODIC_DB_NAME=... \\
        python -m tests.support.dcb_seed

Runs in its own process, as django-celery-beat is not in the test settings' apps. Prints
one JSON object: the tasks as django-celery-beat's models read them back (by name), each
with its schedule by value, for the tests to compare the import against.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import django


def seed() -> None:
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        PeriodicTasks,
        SolarSchedule,
    )

    every_10s = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    # django-celery-beat lets equal rows pile up: the import shares one of ours among them.
    every_10s_again = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    every_2d = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.DAYS)
    berlin = CrontabSchedule.objects.create(
        minute="30",
        hour="2",
        day_of_week="1-5",
        day_of_month="*",
        month_of_year="*",
        timezone="Europe/Berlin",
    )
    new_york = CrontabSchedule.objects.create(
        minute="*/15", hour="8-18", day_of_month="1,15", month_of_year="1-6", timezone="America/New_York"
    )
    sunrise = SolarSchedule.objects.create(event="sunrise", latitude="52.520000", longitude="13.405000")
    at = ClockedSchedule.objects.create(clocked_time=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC))
    bad_cron = CrontabSchedule.objects.create(minute="61", hour="*", timezone="UTC")

    t0 = datetime(2026, 5, 1, 8, 0, 0, 123000, tzinfo=UTC)
    PeriodicTask.objects.create(
        name="every-10s-full",
        task="proj.tasks.full",
        interval=every_10s,
        args=json.dumps([1, "two", {"three": 3}]),
        kwargs=json.dumps({"a": 1, "b": [True, None]}),
        queue="reports",
        exchange="reports-x",
        routing_key="reports.daily",
        headers=json.dumps({"tenant": "acme", "trace": 7}),
        priority=7,
        expires=t0 + timedelta(days=365),
        one_off=False,
        start_time=t0 - timedelta(days=1),
        enabled=True,
        last_run_at=t0,
        total_run_count=42,
        description="Every field set.",
    )
    PeriodicTask.objects.create(name="every-10s-shared", task="proj.tasks.shared", interval=every_10s_again)
    PeriodicTask.objects.create(
        name="every-2-days",
        task="proj.tasks.slow",
        interval=every_2d,
        expire_seconds=300,
        total_run_count=3,
        last_run_at=t0 - timedelta(days=2),
    )
    PeriodicTask.objects.create(
        name="berlin-weekdays", task="proj.tasks.cron", crontab=berlin, last_run_at=t0, total_run_count=120
    )
    PeriodicTask.objects.create(
        name="new-york-quarter-hours", task="proj.tasks.cron", crontab=new_york, kwargs="{}", args="[]"
    )
    PeriodicTask.objects.create(name="at-sunrise", task="proj.tasks.sun", solar=sunrise, priority=0)
    PeriodicTask.objects.create(
        name="once-in-2027",
        task="proj.tasks.once",
        clocked=at,
        one_off=True,
        enabled=False,
        total_run_count=0,
    )
    # Rows the import cannot take, each for its own reason.
    PeriodicTask.objects.create(name="bad-crontab", task="proj.tasks.cron", crontab=bad_cron)
    PeriodicTask.objects.create(name="bad-json", task="proj.tasks.json", interval=every_2d, args="[1, 2")
    no_schedule = PeriodicTask.objects.create(name="no-schedule", task="proj.tasks.none", interval=every_2d)
    PeriodicTask.objects.filter(pk=no_schedule.pk).update(interval=None)
    PeriodicTasks.update_changed()

    print(json.dumps({task.name: stored(task) for task in PeriodicTask.objects.all()}))


def stored(task: Any) -> dict[str, Any]:
    """A django-celery-beat task as its model reads it back, schedule by value."""
    values: dict[str, Any] = {"id": task.pk, "schedule": None}
    for name in (
        "task",
        "args",
        "kwargs",
        "queue",
        "exchange",
        "routing_key",
        "headers",
        "priority",
        "expires",
        "expire_seconds",
        "one_off",
        "start_time",
        "enabled",
        "last_run_at",
        "total_run_count",
        "description",
    ):
        value = getattr(task, name)
        values[name] = value.isoformat() if isinstance(value, datetime) else value
    if task.interval:
        values["schedule"] = ["interval", task.interval.every, task.interval.period]
    elif task.crontab:
        c = task.crontab
        values["schedule"] = [
            "crontab",
            c.minute,
            c.hour,
            c.day_of_month,
            c.month_of_year,
            c.day_of_week,
            str(c.timezone),
        ]
    elif task.solar:
        values["schedule"] = ["solar", task.solar.event, str(task.solar.latitude), str(task.solar.longitude)]
    elif task.clocked:
        values["schedule"] = ["clocked", task.clocked.clocked_time.isoformat()]
    return values


if __name__ == "__main__":
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "django_celery_beat", verbosity=0)
    seed()
