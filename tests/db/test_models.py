"""Models: django-celery-beat's names work; full_clean() and save() refuse the same rows."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from django_periodic.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_periodic.timing.schedules import TzAwareCrontab, clocked

pytestmark = pytest.mark.django_db


@pytest.fixture
def interval():
    return IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)


def test_every_kind_of_task_with_celery_beat_field_names(interval):
    crontab = CrontabSchedule.objects.create(minute="0", hour="4", timezone="Europe/Berlin")
    solar = SolarSchedule.objects.create(event="sunrise", latitude=52.5, longitude=13.4)
    when = ClockedSchedule.objects.create(clocked_time=datetime(2030, 1, 1, tzinfo=UTC))
    PeriodicTask.objects.create(
        name="i", task="proj.add", interval=interval, args=json.dumps([4, 5]), kwargs=json.dumps({"a": 1})
    )
    PeriodicTask.objects.create(
        name="c",
        task="proj.add",
        crontab=crontab,
        queue="q",
        exchange="e",
        routing_key="r",
        priority=5,
        expire_seconds=30,
    )
    PeriodicTask.objects.create(name="s", task="proj.add", solar=solar, headers={"h": 1})
    PeriodicTask.objects.create(name="k", task="proj.add", clocked=when, one_off=True)
    tasks = {t.name: t for t in PeriodicTask.objects.enabled()}
    assert tasks["i"].args == [4, 5] and tasks["i"].kwargs == {"a": 1}
    assert tasks["c"].schedule == TzAwareCrontab("0", "4", tz="Europe/Berlin")
    assert isinstance(tasks["k"].schedule, clocked)
    assert tasks["s"].headers == {"h": 1}
    assert str(tasks["i"]) == "i: every 10 seconds"
    assert str(tasks["c"]) == "c: 0 4 * * * (m/h/dM/MY/d) Europe/Berlin"
    assert tasks["c"].expires_ == 30


def test_plain_lists_and_json_strings_store_the_same(interval):
    a = PeriodicTask.objects.create(name="a", task="t", interval=interval, args=[1, "x"])
    b = PeriodicTask.objects.create(name="b", task="t", interval=interval, args='[1, "x"]')
    assert PeriodicTask.objects.get(pk=a.pk).args == PeriodicTask.objects.get(pk=b.pk).args == [1, "x"]


INVALID = [
    ({"args": {"a": 1}}, "args", "invalid_type"),
    ({"args": "[1,"}, "args", "invalid_json"),
    ({"kwargs": [1]}, "kwargs", "invalid_type"),
    ({"headers": "[]"}, "headers", "invalid_type"),
    ({"priority": 256}, "priority", "max_value"),
    ({"task": ""}, "task", "blank"),
    ({"expires": datetime(2030, 1, 1, tzinfo=UTC), "expire_seconds": 5}, "expire_seconds", "two_expiries"),
    ({"interval": None}, "__all__", "no_schedule"),
]


@pytest.mark.parametrize(("changes", "field", "code"), INVALID)
@pytest.mark.parametrize("how", ["full_clean", "save"])
def test_invalid_tasks_are_refused_by_full_clean_and_save(interval, changes, field, code, how):
    task = PeriodicTask(name="bad", task="proj.add", interval=interval)
    for key, value in changes.items():
        setattr(task, key, value)
    with pytest.raises(ValidationError) as info:
        task.full_clean() if how == "full_clean" else task.save()
    assert code in [e.code for e in info.value.error_dict[field]]
    assert not PeriodicTask.objects.filter(name="bad").exists()


@pytest.mark.parametrize("how", ["full_clean", "save"])
def test_two_schedules_are_refused_on_each_field(interval, how):
    crontab = CrontabSchedule.objects.create()
    task = PeriodicTask(name="two", task="t", interval=interval, crontab=crontab)
    with pytest.raises(ValidationError) as info:
        task.full_clean() if how == "full_clean" else task.save()
    assert {"interval", "crontab"} <= set(info.value.error_dict)
    assert "interval, crontab" in info.value.error_dict["crontab"][0].messages[0]


@pytest.mark.parametrize("how", ["full_clean", "save"])
def test_clocked_must_be_one_off(how):
    when = ClockedSchedule.objects.create(clocked_time=datetime(2030, 1, 1, tzinfo=UTC))
    task = PeriodicTask(name="k", task="t", clocked=when, one_off=False)
    with pytest.raises(ValidationError) as info:
        task.full_clean() if how == "full_clean" else task.save()
    assert info.value.error_dict["one_off"][0].code == "clocked_not_one_off"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"minute": "99"}, "minute", "crontab_out_of_range"),
        ({"hour": "foo"}, "hour", "crontab_bad_name"),
        ({"minute": "*/0"}, "minute", "crontab_zero_step"),
        ({"day_of_week": "8"}, "day_of_week", "crontab_out_of_range"),
        ({"day_of_month": "31", "month_of_year": "2"}, "day_of_month", "crontab_impossible_date"),
    ],
)
@pytest.mark.parametrize("how", ["full_clean", "save"])
def test_invalid_crontabs_are_refused(fields, field, code, how):
    crontab = CrontabSchedule(**fields)
    with pytest.raises(ValidationError) as info:
        crontab.full_clean() if how == "full_clean" else crontab.save()
    errors = info.value.error_dict[field]
    assert errors[0].code == code
    assert field in errors[0].messages[0]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"minute": "0-61"},
            "minute",
            "'0-61' is not a valid minute: 61 is out of range. "
            "Use 0-59, '*', lists (0,30), ranges (0-15) or steps (*/15).",
        ),
        (
            {"day_of_month": "0"},
            "day_of_month",
            "'0' is not a valid day_of_month: 0 is out of range. Use 1-31, '*', lists, ranges or steps.",
        ),
        (
            {"day_of_week": "1,,2"},
            "day_of_week",
            "'1,,2' is not a valid day_of_week: there is an empty item between two commas. "
            "Use 0-7 (0 and 7 are Sunday) or names (sun-sat), '*', lists, ranges or steps.",
        ),
    ],
)
def test_crontab_errors_read_as_clean_sentences(fields, field, message):
    with pytest.raises(ValidationError) as info:
        CrontabSchedule(**fields).full_clean()
    assert info.value.error_dict[field][0].messages == [message]


def test_crontab_accepts_names_and_seven_for_sunday():
    crontab = CrontabSchedule.objects.create(
        minute="0", hour="9", day_of_week="sat-7", month_of_year="jan-mar"
    )
    assert crontab.schedule.spec.days_of_week == {6, 0}


def test_interval_every_must_be_positive():
    for how in ("full_clean", "save"):
        with pytest.raises(ValidationError) as info:
            row = IntervalSchedule(every=0, period="seconds")
            row.full_clean() if how == "full_clean" else row.save()
        assert "every" in info.value.error_dict


def test_database_constraint_holds_without_validation(interval):
    crontab = CrontabSchedule.objects.create()
    task = PeriodicTask.objects.create(name="x", task="t", interval=interval)
    with pytest.raises(IntegrityError), transaction.atomic():
        PeriodicTask._base_manager.filter(pk=task.pk).update(crontab=crontab)


def test_messages_are_translated(interval):
    with translation.override("de"):
        task = PeriodicTask(name="bad", task="t", interval=interval, priority=300)
        with pytest.raises(ValidationError) as info:
            task.full_clean()
    assert "255" in info.value.error_dict["priority"][0].messages[0]


def test_human_readable_never_raises():
    assert CrontabSchedule(minute="0", hour="4", timezone="UTC").human_readable == "At 04:00 UTC"
    with translation.override("de"):
        assert "04:00" in CrontabSchedule(minute="0", hour="4").human_readable
    assert CrontabSchedule(minute="nonsense").human_readable.startswith("nonsense")


def test_str_of_every_model(interval):
    assert str(interval) == "every 10 seconds"
    assert str(IntervalSchedule(every=1, period="hours")) == "every 1 hour"
    assert str(SolarSchedule(event="sunset", latitude=1, longitude=2)) == "Sunset (1, 2)"
    assert str(ClockedSchedule(clocked_time=datetime(2030, 1, 1, tzinfo=UTC))).startswith("2030-01-01")


def test_from_schedule_round_trips():
    from celery.schedules import crontab, schedule

    row = IntervalSchedule.from_schedule(schedule(timedelta(minutes=5)))
    assert (row.every, row.period) == (300, "seconds")
    row.save()
    assert IntervalSchedule.from_schedule(schedule(timedelta(minutes=5))).pk == row.pk
    cron = CrontabSchedule.from_schedule(crontab("*/5", "1"))
    assert (cron.minute, cron.hour) == ("*/5", "1")


def test_disabling_clears_last_run_at(interval):
    task = PeriodicTask.objects.create(
        name="x", task="t", interval=interval, last_run_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    task.enabled = False
    task.save()
    task.refresh_from_db()
    assert task.last_run_at is None


def test_saving_a_stale_instance_keeps_run_state_written_meanwhile(interval):
    task = PeriodicTask.objects.create(name="x", task="t", interval=interval)
    opened = PeriodicTask.objects.get(pk=task.pk)  # an admin form opens the row
    ran = datetime(2026, 1, 1, tzinfo=UTC)
    PeriodicTask._base_manager.filter(pk=task.pk).update(last_run_at=ran, total_run_count=3)
    opened.description = "edited"
    opened.save()
    task.refresh_from_db()
    assert (task.description, task.last_run_at, task.total_run_count) == ("edited", ran, 3)


def test_solar_without_the_extra_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ephem", None)  # as if ephem were not installed
    row = SolarSchedule(event="sunrise", latitude=1, longitude=2)
    with pytest.raises(ValidationError) as info:
        row.full_clean()
    assert "pip install 'django-periodic[solar]'" in info.value.messages[0]
    with pytest.raises(ImportError, match="solar"):
        row.schedule  # noqa: B018


def test_deferred_run_state_loads_and_saves_without_touching_it(interval):
    task = PeriodicTask.objects.create(name="x", task="t", interval=interval)
    PeriodicTask._base_manager.filter(pk=task.pk).update(total_run_count=4)
    partial = PeriodicTask.objects.only("name", "description").get(pk=task.pk)
    partial.description = "only this"
    partial.save()
    task.refresh_from_db()
    assert (task.description, task.total_run_count) == ("only this", 4)
    assert PeriodicTask.objects.defer("last_run_at").get(pk=task.pk).total_run_count == 4
