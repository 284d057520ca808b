"""``beat_schedule`` kept in the database: the settings win at the next start, crontabs included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab

from django_periodic.models import PeriodicTask
from tests.db.test_admin import change_url, form_data

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def row(name):
    return PeriodicTask.objects.get(name=name)


def next_weekday_at(hour, zone):
    """The next Monday-Friday after today (by the real date) at ``hour``:00 in ``zone``, in UTC."""
    day = datetime.now(UTC).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


@pytest.fixture
def report_in_code(celery_app):
    celery_app.conf.timezone = "Europe/Berlin"
    celery_app.conf.beat_schedule = {
        "report": {
            "task": "tests.registered",
            "schedule": crontab(minute="0", hour="9-17", day_of_week="mon-fri"),
            "args": (1,),
            "options": {"queue": "reports", "priority": 3},
        },
    }


def test_a_crontab_entry_is_stored_in_the_apps_zone_and_runs_at_its_local_time(
    make_scheduler, clock, report_in_code
):
    nine = next_weekday_at(9, BERLIN)
    clock.now = nine - timedelta(minutes=1)
    scheduler = make_scheduler()
    cron = row("report").crontab
    fields = (cron.minute, cron.hour, cron.day_of_week, cron.day_of_month, cron.month_of_year)
    assert fields == ("0", "9-17", "mon-fri", "*", "*") and str(cron.timezone) == "Europe/Berlin"
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = nine
    scheduler.tick()
    assert [(s["name"], s["args"], s["options"]["queue"]) for s in scheduler.sent] == [
        ("report", [1], "reports")
    ]


def test_the_settings_win_over_an_admin_edit_at_the_next_start(make_scheduler, report_in_code, admin_client):
    make_scheduler()
    stored = row("report")
    assert stored.defined_in_code
    edit = form_data(
        name="report",
        task="tests.edited",
        schedule_type="crontab",
        crontab=stored.crontab_id,
        args="[2]",
        queue="edited",
        priority=9,
        jitter_seconds=30,  # a field the entry does not set
    )
    response = admin_client.post(change_url(stored), edit)
    assert response.status_code == 302, response.content.decode()[:2000]
    edited = row("report")
    assert (edited.task, edited.args, edited.queue, edited.priority) == ("tests.edited", [2], "edited", 9)

    make_scheduler()  # the next start
    restored = row("report")
    assert (restored.task, restored.args, restored.queue, restored.priority) == (
        "tests.registered",
        [1],
        "reports",
        3,
    )
    assert restored.defined_in_code and restored.jitter_seconds == 30
    assert restored.version > edited.version  # written again, so a running beat sees it


def test_an_entry_removed_from_the_settings_is_disabled_not_deleted(
    make_scheduler, celery_app, report_in_code
):
    make_scheduler()
    celery_app.conf.beat_schedule = {}
    make_scheduler()
    assert not row("report").enabled
