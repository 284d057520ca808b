"""``periodic_tasks import-django-celery-beat`` on tables made and filled by django-celery-beat 2.9.

django-celery-beat is not in the test settings' apps, as after a switch: a separate process
with it installed (tests/support/dcb_seed.py) runs its migrations on the test database and
stores rows with its models, once for this module; the tables are dropped at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from django_periodic.importing.dcb_plan import Plan, ScheduleMap
from django_periodic.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

pytestmark = pytest.mark.django_db

# Installed by tox in the Django 5.2 and 6.0 environments: django-celery-beat 2.9.0 does not
# install with Django 6.1, so there the command is tested by the rest of the suite only.
pytest.importorskip("django_celery_beat", reason="django-celery-beat 2.9.0 needs Django < 6.1")
ROOT = Path(__file__).resolve().parents[2]
DCB_TABLES = ["periodictask", "intervalschedule", "crontabschedule", "solarschedule", "clockedschedule"]
IMPORTABLE = [
    "every-10s-full",
    "every-10s-shared",
    "every-2-days",
    "berlin-weekdays",
    "new-york-quarter-hours",
    "at-sunrise",
    "once-in-2027",
]
NOT_IMPORTABLE = {
    "bad-crontab": "its crontab schedule (id ",
    "bad-json": "args is not valid JSON",
    "no-schedule": "Choose a schedule",
}


def drop_dcb_tables() -> None:
    quote = connection.ops.quote_name
    tables = [f"django_celery_beat_{name}" for name in [*DCB_TABLES, "periodictasks"]]
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in tables:
            if table in existing:
                cascade = " CASCADE" if connection.vendor == "postgresql" else ""
                cursor.execute(f"DROP TABLE {quote(table)}{cascade}")
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["django_celery_beat"])
        cursor.execute(
            "DELETE FROM auth_permission WHERE content_type_id IN "
            "(SELECT id FROM django_content_type WHERE app_label = %s)",
            ["django_celery_beat"],
        )
        cursor.execute("DELETE FROM django_content_type WHERE app_label = %s", ["django_celery_beat"])


def with_dcb_installed() -> dict[str, str]:
    """The environment of a process of the test project with django-celery-beat installed."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testproject.settings_dcb",
        "DJANGO_PERIODIC_DB_NAME": str(connection.settings_dict["NAME"]),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.fixture(scope="module")
def dcb(django_db_setup, django_db_blocker):
    """django-celery-beat's rows as its models stored them, by task name."""
    with django_db_blocker.unblock():
        drop_dcb_tables()  # left by an interrupted run
        connection.close()
        seeded = subprocess.run(
            [sys.executable, "-m", "tests.support.dcb_seed"],
            cwd=ROOT,
            env=with_dcb_installed(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert seeded.returncode == 0, seeded.stderr
        yield json.loads(seeded.stdout.splitlines()[-1])
        drop_dcb_tables()


def run(*args: str, verbosity: int = 1) -> str:
    out = StringIO()
    call_command(
        "periodic_tasks",
        "import-django-celery-beat",
        *args,
        stdout=out,
        stderr=StringIO(),
        verbosity=verbosity,
    )
    return out.getvalue()


def when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def schedule_of(task: PeriodicTask) -> list:
    if task.interval:
        return ["interval", task.interval.every, task.interval.period]
    if task.crontab:
        c = task.crontab
        return ["crontab", c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week, str(c.timezone)]
    if task.solar:
        return ["solar", task.solar.event, task.solar.latitude, task.solar.longitude]
    return ["clocked", task.clocked.clocked_time]


def expected_schedule(source: list) -> list:
    if source[0] == "solar":
        return [*source[:2], Decimal(source[2]), Decimal(source[3])]
    if source[0] == "clocked":
        return ["clocked", when(source[1])]
    return source


def snapshot() -> list:
    tasks = PeriodicTask.objects.order_by("name").values()
    schedules = [list(m.objects.order_by("pk").values()) for m in (IntervalSchedule, CrontabSchedule)]
    return [list(tasks), schedules, PeriodicTasks.state()]


def source_enabled() -> dict[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, enabled FROM django_celery_beat_periodictask")
        return {name: bool(enabled) for name, enabled in cursor.fetchall()}


def test_every_field_of_every_schedule_kind_is_imported(dcb):
    version = PeriodicTasks.state().version
    out = run()
    assert "10 task(s) in django-celery-beat: 7 created, 0 updated, 0 unchanged, 3 not imported" in out
    tasks = {
        t.name: t for t in PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked")
    }
    assert sorted(tasks) == sorted(IMPORTABLE)
    for name, task in tasks.items():
        source = dcb[name]
        assert task.task == source["task"], name
        assert schedule_of(task) == expected_schedule(source["schedule"]), name
        assert task.args == json.loads(source["args"] or "[]"), name
        assert task.kwargs == json.loads(source["kwargs"] or "{}"), name
        assert task.headers == json.loads(source["headers"] or "{}"), name
        for field in ("queue", "exchange", "routing_key", "priority", "expire_seconds", "one_off"):
            assert getattr(task, field) == source[field], (name, field)
        for field in ("enabled", "total_run_count", "description"):
            assert getattr(task, field) == source[field], (name, field)
        for field in ("expires", "start_time", "last_run_at"):
            assert getattr(task, field) == when(source[field]), (name, field)
        assert task.version > version, name
    assert PeriodicTasks.state().version > version  # beat hears of the new tasks
    # the two equal intervals of django-celery-beat are one row here
    assert tasks["every-10s-full"].interval_id == tasks["every-10s-shared"].interval_id
    assert IntervalSchedule.objects.count() == 2
    assert tasks["every-10s-full"].last_run_at is not None and tasks["every-10s-full"].total_run_count == 42


def test_rows_it_cannot_take_are_listed_with_the_reason_and_the_rest_imported(dcb):
    out = run()
    for name, reason in NOT_IMPORTABLE.items():
        line = next(line for line in out.splitlines() if line.startswith(f"not imported: {name} "))
        assert f"(django-celery-beat id {dcb[name]['id']})" in line and reason in line, line
    assert "minute: '61' is not a valid minute" in out
    assert not PeriodicTask.objects.filter(name__in=list(NOT_IMPORTABLE)).exists()
    assert PeriodicTask.objects.count() == len(IMPORTABLE)


def test_a_second_run_changes_nothing(dcb):
    run()
    before = snapshot()
    out = run()
    assert "0 created, 0 updated, 7 unchanged, 3 not imported; 0 new schedule(s)" in out
    assert snapshot() == before


def test_dry_run_lists_the_changes_and_writes_nothing(dcb):
    before = snapshot()
    out = run("--dry-run")
    assert [line for line in out.splitlines() if line.startswith("would create")] == [
        f"would create {name}" for name in IMPORTABLE
    ]
    assert "Dry run: nothing was written." in out
    assert snapshot() == before and not PeriodicTask.objects.exists()
    assert all(source_enabled()[name] for name in IMPORTABLE if dcb[name]["enabled"])


def test_disable_source_disables_what_was_imported_and_tells_the_old_beat(dcb):
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_update FROM django_celery_beat_periodictasks WHERE ident = 1")
        (changed_before,) = cursor.fetchone()
    out = run("--disable-source")
    assert "Disabled 7 task(s) in django-celery-beat's table." in out
    enabled = source_enabled()
    assert not any(enabled[name] for name in IMPORTABLE)
    assert all(enabled[name] for name in NOT_IMPORTABLE)  # still sent by the old beat
    assert PeriodicTask.objects.get(name="every-10s-full").enabled  # ours run them now
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_update FROM django_celery_beat_periodictasks WHERE ident = 1")
        (changed_after,) = cursor.fetchone()
    assert str(changed_after) > str(changed_before)
    # and again: the disabled source rows do not disable ours
    assert "0 created, 0 updated, 7 unchanged" in run("--disable-source")
    assert PeriodicTask.objects.get(name="every-10s-full").enabled


def test_a_task_of_the_same_name_is_updated_and_its_run_state_only_moves_forward(dcb):
    cron = CrontabSchedule.objects.create(minute="30", hour="2", day_of_week="1-5", timezone="Europe/Berlin")
    later = when(dcb["berlin-weekdays"]["last_run_at"]).replace(year=2030)
    PeriodicTask.objects.create(
        name="berlin-weekdays", task="old.name", crontab=cron, args=[9], last_run_at=later, total_run_count=5
    )
    PeriodicTask.objects.create(name="every-2-days", task="proj.tasks.slow", crontab=cron, enabled=False)
    out = run(verbosity=2)
    assert "updated berlin-weekdays: task, args" in out
    task = PeriodicTask.objects.get(name="berlin-weekdays")
    assert (task.task, task.args, task.crontab_id) == ("proj.tasks.cron", [], cron.pk)  # equal crontab reused
    assert task.last_run_at == later and task.total_run_count == 120
    assert CrontabSchedule.objects.filter(hour="2").count() == 1
    moved = PeriodicTask.objects.get(name="every-2-days")
    assert (moved.interval.every, moved.interval.period, moved.crontab_id) == (2, "days", None)
    assert not moved.enabled  # kept as it was here


def test_dry_run_and_disable_source_together_are_refused(dcb):
    with pytest.raises(CommandError, match="--dry-run writes nothing"):
        run("--dry-run", "--disable-source")


def test_a_task_whose_schedule_row_is_gone_is_reported(dcb):
    schedules = ScheduleMap("crontab", Plan(), connection.alias)
    with pytest.raises(
        ValueError, match=r"its crontab schedule \(id 999\) is not in django_celery_beat_crontab"
    ):
        schedules.resolve(999)


# No test transaction left open: on SQLite it would hold the write lock the other process waits for.
@pytest.mark.django_db(transaction=True)
def test_it_reads_the_same_with_django_celery_beat_still_installed(dcb):
    command = [sys.executable, "manage.py", "periodic_tasks", "import-django-celery-beat", "--dry-run"]
    done = subprocess.run(
        command, cwd=ROOT, env=with_dcb_installed(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert (
        "10 task(s) in django-celery-beat: 7 would create, 0 would update, 0 unchanged, 3 not imported"
        in (done.stdout)
    )
    assert "Reading: 10 of 10 tasks" in done.stderr  # not a terminal: progress as lines
