"""The names code written for django-celery-beat reaches, each called and checked for behaviour.

docs/compatibility.md lists them and what each maps to.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from django_periodic import clockedschedule, querysets, schedulers, tzcrontab, utils, validators
from django_periodic.admin import PeriodicTaskAdmin
from django_periodic.models import (
    DAYS,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
    crontab_schedule_celery_timezone,
)
from django_periodic.models.changes import PeriodicTasks as Tracker
from tests.support import browser

pytestmark = pytest.mark.django_db

published = browser.published


@pytest.fixture
def every_2_days():
    return IntervalSchedule.objects.create(every=2, period=DAYS)


@pytest.fixture
def model_admin(monkeypatch):
    """The task admin as django-celery-beat's tests build it, collecting its messages."""
    model_admin = PeriodicTaskAdmin(PeriodicTask, None)  # as django-celery-beat's tests build it
    said: list[str] = []
    monkeypatch.setattr(model_admin, "message_user", lambda request, message, *a, **k: said.append(message))
    model_admin.said = said  # type: ignore[attr-defined]
    return model_admin


def make(every_2_days, *flags: bool) -> None:
    for index, enabled in enumerate(flags):
        PeriodicTask.objects.create(name=f"t{index}", task="proj.t", interval=every_2_days, enabled=enabled)


def enabled_flags() -> list[bool]:
    return list(PeriodicTask.objects.order_by("name").values_list("enabled", flat=True))


# -- the admin's action methods ------------------------------------------------------


def test_toggle_tasks_activity_flips_each_row_and_counts(model_admin, every_2_days):
    make(every_2_days, False, True, False)
    version = PeriodicTasks.state().version
    assert model_admin._toggle_tasks_activity(PeriodicTask.objects.all()) == 3
    assert enabled_flags() == [True, False, True]
    assert PeriodicTasks.state().version > version  # beat sees it
    assert model_admin.said == []  # the helper says nothing; the action does


def test_enable_disable_and_toggle_methods_change_rows_and_say_so(model_admin, every_2_days):
    make(every_2_days, True, True)
    PeriodicTask.objects.update(last_run_at=datetime(2026, 1, 1, tzinfo=UTC))
    model_admin.disable_tasks(None, PeriodicTask.objects.all())
    assert enabled_flags() == [False, False]
    assert set(PeriodicTask.objects.values_list("last_run_at", flat=True)) == {None}
    model_admin.enable_tasks(None, PeriodicTask.objects.filter(name="t0"))
    assert enabled_flags() == [True, False]
    model_admin.toggle_tasks(None, PeriodicTask.objects.all())
    assert enabled_flags() == [False, True]
    assert model_admin.said == [
        "Disabled 2 periodic tasks.",
        "Enabled 1 periodic task.",
        "Toggled 2 periodic tasks: 1 now enabled, 1 now disabled.",
    ]


def test_toggle_on_an_empty_queryset_changes_nothing(model_admin):
    version = PeriodicTasks.state().version
    model_admin.toggle_tasks(None, PeriodicTask.objects.none())
    assert PeriodicTasks.state().version == version
    assert len(model_admin.said) == 1


def test_run_tasks_sends_each_task_through_the_admins_celery_app(model_admin, published, every_2_days):
    PeriodicTask.objects.create(name="Report", task="proj.report", interval=every_2_days, args=[1])
    model_admin.run_tasks(None, PeriodicTask.objects.all())
    assert [(m["task"], m["body"][0]) for m in published] == [("proj.report", [1])]
    assert model_admin.said[0].startswith("Sent 1 periodic task to run now")


# -- schedulers ------------------------------------------------------------------------


def test_schedulers_module_names(caplog):
    assert schedulers.DEFAULT_MAX_INTERVAL == 5 and schedulers.SCHEDULE_SYNC_MAX_INTERVAL == 300
    assert schedulers.NEVER_CHECK_TIMEOUT == utils.NEVER_CHECK_TIMEOUT
    line = schedulers.ADD_ENTRY_ERROR % ("nightly", ValueError("bad"), {"task": "t"})
    assert "'nightly'" in line and "bad" in line and "'task': 't'" in line
    with caplog.at_level(logging.DEBUG, logger="django_periodic.beat"):
        schedulers.debug("d %s", 1)
        schedulers.info("i %s", 2)
        schedulers.warning("w %s", 3)
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("django_periodic.beat", "DEBUG", "d 1"),
        ("django_periodic.beat", "INFO", "i 2"),
        ("django_periodic.beat", "WARNING", "w 3"),
    ]
    assert schedulers.logger is logging.getLogger("django_periodic.beat")
    now = schedulers.aware_now()
    assert now.utcoffset() == timedelta(0) and abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_schedulers_finalize_runs_its_callback_once():
    calls = []

    class Owner:
        pass

    owner = Owner()
    finalizer = schedulers.Finalize(owner, calls.append, args=("closed",), exitpriority=5)
    finalizer()
    finalizer()
    assert calls == ["closed"]


def test_schedulers_names_can_be_patched(monkeypatch):
    monkeypatch.setattr(schedulers, "aware_now", lambda: datetime(2030, 1, 1, tzinfo=UTC))
    assert schedulers.aware_now().year == 2030


# -- models ----------------------------------------------------------------------------


def test_days_period_makes_a_two_day_interval(every_2_days):
    assert DAYS == "days" == IntervalSchedule.DAYS
    assert every_2_days.schedule.run_every == timedelta(days=2)
    assert str(every_2_days) == "every 2 days"


def test_crontab_default_zone_follows_celery_timezone(settings):
    settings.CELERY_TIMEZONE = "Asia/Tokyo"
    assert crontab_schedule_celery_timezone() == "Asia/Tokyo"
    settings.CELERY_TIMEZONE = "Not/AZone"
    assert crontab_schedule_celery_timezone() == "UTC"


# -- utils -----------------------------------------------------------------------------


def test_utils_make_aware_reads_naive_as_utc_and_answers_in_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    value = utils.make_aware(datetime(2026, 7, 1, 12, 0))
    assert value.tzinfo is not None and value.utcoffset() == timedelta(hours=2)
    assert value == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    aware = datetime(2026, 1, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert utils.make_aware(aware) == aware and utils.make_aware(aware).utcoffset() == timedelta(hours=1)


def test_utils_make_aware_without_use_tz_reads_naive_in_time_zone(settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "Europe/Berlin"
    value = utils.make_aware(datetime(2026, 7, 1, 12, 0))
    assert value == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


def test_utils_now_and_aware_now(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    local, utc = utils.now(), utils.aware_now()
    assert local.utcoffset() == timedelta(hours=9) and utc.utcoffset() == timedelta(0)
    assert abs(local - utc) < timedelta(seconds=5)
    assert utils.NEVER_CHECK_TIMEOUT == 100_000_000
    assert utils.is_database_scheduler("django_periodic.schedulers:DatabaseScheduler")


# -- validators, tzcrontab, clockedschedule, querysets ----------------------------------


@pytest.mark.parametrize(
    ("validator", "good", "bad"),
    [
        (validators.minute_validator, "*/15", "60"),
        (validators.hour_validator, "9-17", "24"),
        (validators.day_of_month_validator, "1,15", "32"),
        (validators.month_of_year_validator, "jan-mar", "13"),
        (validators.day_of_week_validator, "mon-fri", "8"),
    ],
)
def test_field_validators_accept_and_refuse(validator, good, bad):
    validator(good)
    with pytest.raises(ValidationError) as raised:
        validator(bad)
    assert bad in " ".join(raised.value.messages)


def test_crontab_validator_checks_five_fields():
    validators.crontab_validator("30 9 * * mon-fri")
    with pytest.raises(ValidationError):
        validators.crontab_validator("30 25 * * *")


def test_tz_aware_crontab_reads_fields_in_its_zone():
    new_york = ZoneInfo("America/New_York")
    at = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 09:00 in New York
    cron = tzcrontab.TzAwareCrontab(minute="30", hour="9", tz=new_york, nowfun=lambda: at)
    due, wait = cron.is_due(at - timedelta(minutes=1))
    assert not due and wait == pytest.approx(30 * 60)
    assert cron == tzcrontab.TzAwareCrontab(minute="30", hour="9", tz=new_york)
    assert cron != tzcrontab.TzAwareCrontab(minute="30", hour="9", tz=UTC)


def test_clocked_runs_once_at_its_time():
    at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    before = clockedschedule.clocked(at, nowfun=lambda: at - timedelta(seconds=90))
    assert tuple(before.is_due(None)) == (False, pytest.approx(90))
    after = clockedschedule.clocked(at, nowfun=lambda: at + timedelta(seconds=1))
    assert tuple(after.is_due(None)) == (True, utils.NEVER_CHECK_TIMEOUT)


def test_querysets_class_is_the_managers_and_stamps_versions(every_2_days):
    make(every_2_days, True, False)
    assert isinstance(PeriodicTask.objects.all(), querysets.PeriodicTaskQuerySet)
    assert list(PeriodicTask.objects.enabled().values_list("name", flat=True)) == ["t0"]
    version = Tracker.state().version
    assert PeriodicTask.objects.filter(name="t1").update(description="x") == 1
    assert PeriodicTask.objects.get(name="t1").version == Tracker.state().version > version
