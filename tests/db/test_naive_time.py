"""``USE_TZ = False``: naive datetimes in ``TIME_ZONE`` are converted at the database boundary,
so every time rule holds as with aware ones (crontab, clocked, start_time, expires, the admin's
preview and ``periodic_tasks next``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_periodic.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask
from tests.db.test_admin import change_url
from tests.support import browser

pytestmark = pytest.mark.django_db(transaction=True)

pinned_clock = browser.pinned_clock

SITE = "America/New_York"


@pytest.fixture
def naive(settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = SITE


def local(instant: datetime) -> datetime:
    """``instant`` as Django stores it with USE_TZ = False: naive, in TIME_ZONE."""
    return timezone.make_naive(instant, ZoneInfo(SITE))


def tomorrow_at(hour: int, zone: str) -> datetime:
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_a_crontab_runs_at_its_zones_time_and_stores_naive_local_run_state(naive, make_scheduler, clock):
    cron = CrontabSchedule.objects.create(minute="0", hour="9", timezone="Europe/Berlin")
    PeriodicTask.objects.create(name="nine", task="tests.registered", crontab=cron)
    nine = tomorrow_at(9, "Europe/Berlin")
    clock.now = nine - timedelta(seconds=1)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = nine
    scheduler.tick()
    assert scheduler.names() == ["nine"]
    assert PeriodicTask.objects.get().last_run_at == local(nine)
    restarted = make_scheduler()  # the naive last_run_at read back: no second run for the slot
    restarted.tick()
    assert restarted.sent == []


def test_a_clocked_task_runs_at_its_instant_once(naive, make_scheduler, clock):
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    when = ClockedSchedule.objects.create(clocked_time=local(at))
    PeriodicTask.objects.create(name="once", task="tests.registered", clocked=when, one_off=True)
    clock.now = at - timedelta(seconds=1)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = at
    scheduler.tick()
    assert scheduler.names() == ["once"] and not PeriodicTask.objects.get().enabled


def test_start_time_and_expires_hold(naive, make_scheduler, clock):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    every_10s = IntervalSchedule.objects.create(every=10, period="seconds")
    PeriodicTask.objects.create(
        name="t",
        task="tests.registered",
        interval=every_10s,
        start_time=local(start),
        expires=local(start + timedelta(seconds=15)),
    )
    clock.now = start - timedelta(seconds=1)
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.sent == []
    clock.now = start
    scheduler.tick()
    clock.now = start + timedelta(seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["t", "t"]
    clock.now = start + timedelta(seconds=20)  # after the expiry
    scheduler.tick()
    assert scheduler.names() == ["t", "t"] and not PeriodicTask.objects.get().enabled


def test_periodic_tasks_next_is_the_same_as_with_aware_datetimes(naive):
    cron = CrontabSchedule.objects.create(minute="30", hour="2", timezone="Europe/Berlin")
    PeriodicTask.objects.create(name="nightly", task="t", crontab=cron)
    out = StringIO()
    call_command(
        "periodic_tasks",
        "next",
        "--task",
        "nightly",
        "-n",
        "2",
        "--after",
        "2027-03-27T12:00:00+00:00",
        stdout=out,
    )
    assert out.getvalue().splitlines()[1:] == [
        "  2027-03-28T01:00:00+00:00  2027-03-28T03:00:00+02:00",
        "  2027-03-29T00:30:00+00:00  2027-03-29T02:30:00+02:00",
    ]


def test_the_admin_preview_with_naive_datetimes(naive, admin_client, pinned_clock):
    cron = CrontabSchedule.objects.create(minute="30", hour="9", timezone="Europe/Berlin")
    task = PeriodicTask.objects.create(name="Morning report", task="proj.report", crontab=cron)
    page = admin_client.get(change_url(task)).content.decode()
    # the pinned clock is Thu 2026-03-05 12:00 UTC: the next 09:30 in Berlin is Friday's
    expected = ("Fri 2026-03-06 09:30:00 CET", "Fri 2026-03-06 03:30:00 EST")
    assert "<tr>" + "".join(f"<td>{cell}</td>" for cell in expected) in page, page[page.find("<table") :][
        :1500
    ]
    every_10s = IntervalSchedule.objects.create(every=10, period="seconds")
    later = PeriodicTask.objects.create(
        name="Import",
        task="proj.import",
        interval=every_10s,
        start_time=local(browser.NOW + timedelta(minutes=1)),
    )
    page = admin_client.get(change_url(later)).content.decode()
    assert "<td>Thu 2026-03-05 07:01:00 EST</td><td>1\xa0minute</td>" in page
