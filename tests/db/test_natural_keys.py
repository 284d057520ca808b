"""Natural keys: ``dumpdata --natural-foreign --natural-primary`` and ``loaddata`` between databases."""

import json
from datetime import UTC, datetime

import pytest
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
from tests.support.schedule_files import changed_since, empty_tables, export, make_varied_tasks, version

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied_tasks():
    make_varied_tasks()


DUMPED = [
    "django_periodic.IntervalSchedule",
    "django_periodic.CrontabSchedule",
    "django_periodic.SolarSchedule",
    "django_periodic.ClockedSchedule",
    "django_periodic.PeriodicTask",
    "django_periodic.PeriodicTaskRun",
]


def test_schedule_natural_keys_pick_the_first_of_equal_rows():
    first = IntervalSchedule.objects.create(every=5, period="minutes")
    IntervalSchedule.objects.create(every=5, period="minutes")
    assert IntervalSchedule.objects.get_by_natural_key(5, "minutes") == first
    cron = CrontabSchedule.objects.create(minute="0", hour="4", timezone="Europe/Berlin")
    assert cron.natural_key() == ("0", "4", "*", "*", "*", "Europe/Berlin")
    assert CrontabSchedule.objects.get_by_natural_key(*cron.natural_key()) == cron
    clocked = ClockedSchedule.objects.create(clocked_time=datetime(2030, 1, 1, 9, 0, 0, 5, tzinfo=UTC))
    assert clocked.natural_key() == ("2030-01-01T09:00:00.000005+00:00",)
    assert ClockedSchedule.objects.get_by_natural_key(*clocked.natural_key()) == clocked
    solar = SolarSchedule.objects.create(event="sunset", latitude=48.1, longitude=11.6)
    assert SolarSchedule.objects.get_by_natural_key(*solar.natural_key()) == solar
    with pytest.raises(IntervalSchedule.DoesNotExist):
        IntervalSchedule.objects.get_by_natural_key(6, "minutes")


def test_dumpdata_with_natural_keys_moves_tasks_to_an_emptied_database(varied_tasks, tmp_path):
    task = PeriodicTask.objects.get(name="poll feeds")
    duplicate = IntervalSchedule.objects.create(every=10, period="seconds")  # equal to poll feeds' row
    PeriodicTask.objects.create(name="on the duplicate", task="proj.dup", interval=duplicate)
    PeriodicTaskRun.objects.create(
        task=task,
        task_name=task.name,
        scheduled_at=datetime(2026, 5, 1, tzinfo=UTC),
        celery_task_id="0b9e4c1e-0000-4000-8000-000000000001",
        state="succeeded",
        recorded_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    # Django's JSON serializer keeps datetimes to the millisecond (see docs/schedules-as-files.md)
    ClockedSchedule.objects.update(clocked_time=datetime(2030, 1, 1, 9, 0, 0, 123000, tzinfo=UTC))
    before = export()
    fixture = tmp_path / "dump.json"
    call_command(
        "dumpdata", *DUMPED, "--natural-foreign", "--natural-primary", "-o", str(fixture), verbosity=0
    )
    dumped = json.loads(fixture.read_text())
    assert all("pk" not in row for row in dumped)
    task_row = next(row for row in dumped if row["fields"].get("name") == "poll feeds")
    assert task_row["fields"]["interval"] == [10, "seconds"]
    run_row = next(row for row in dumped if row["model"] == "django_periodic.periodictaskrun")
    assert run_row["fields"]["task"] == ["poll feeds"]
    empty_tables()
    v0 = version()
    call_command("loaddata", str(fixture), verbosity=0)
    assert export() == before
    assert version() > v0 and "poll feeds" in changed_since(v0)
    assert IntervalSchedule.objects.filter(every=10, period="seconds").count() == 1  # equal rows merge
    assert PeriodicTaskRun.objects.get().task.name == "poll feeds"
    # loading the same dump again updates the rows in place rather than adding copies
    call_command("loaddata", str(fixture), verbosity=0)
    assert PeriodicTask.objects.count() == 9 and PeriodicTaskRun.objects.count() == 1


def test_loading_a_whole_app_dump_never_takes_the_counter_back(varied_tasks, tmp_path, make_scheduler):
    fixture = tmp_path / "app.json"
    call_command("dumpdata", "django_periodic", "--natural-foreign", "--natural-primary", "-o", str(fixture))
    for task in PeriodicTask.objects.filter(name__startswith="nightly"):
        task.description = "edited after the dump"
        task.save()
    scheduler = make_scheduler()
    scheduler.tick()
    held = version()
    call_command("loaddata", str(fixture), verbosity=0)
    state = PeriodicTasks.state()
    assert state.version > held and state.reset_version > held  # beat re-reads all
    scheduler.tick()
    assert scheduler.stats["full_loads"] == 2
    assert PeriodicTask.objects.get(name="nightly report (Tokyo)").description == ""
