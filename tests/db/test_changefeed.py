"""Every write path moves the change counter and stamps the rows it touched."""

import json
from datetime import UTC, datetime

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from django_periodic.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask
from django_periodic.models.changes import PeriodicTaskDeletion, PeriodicTasks

pytestmark = pytest.mark.django_db


def version():
    return PeriodicTasks.state().version


def changed_since(v):
    return set(PeriodicTask.objects.filter(version__gt=v).values_list("name", flat=True))


def deleted_since(v):
    return set(PeriodicTaskDeletion.objects.filter(version__gt=v).values_list("name", flat=True))


@pytest.fixture
def interval():
    return IntervalSchedule.objects.create(every=5, period="seconds")


@pytest.fixture
def tasks(interval):
    return [PeriodicTask.objects.create(name=f"t{i}", task="proj.t", interval=interval) for i in range(3)]


def test_save_creates_and_edits(interval):
    v0 = version()
    task = PeriodicTask.objects.create(name="a", task="t", interval=interval)
    assert version() == v0 + 1 and changed_since(v0) == {"a"}
    v1 = version()
    task.description = "x"
    task.save(update_fields=["description"])
    assert changed_since(v1) == {"a"}


def test_queryset_update(tasks):
    v0 = version()
    PeriodicTask.objects.filter(name__in=["t0", "t1"]).update(enabled=False)
    assert version() == v0 + 1
    assert changed_since(v0) == {"t0", "t1"}


def test_model_delete_and_queryset_delete(tasks):
    v0 = version()
    tasks[0].delete()
    assert deleted_since(v0) == {"t0"}
    v1 = version()
    PeriodicTask.objects.filter(name__in=["t1", "t2"]).delete()
    assert deleted_since(v1) == {"t1", "t2"}
    assert version() > v1


def test_bulk_create_and_bulk_update(interval):
    v0 = version()
    made = PeriodicTask.objects.bulk_create(
        [PeriodicTask(name=f"b{i}", task="t", interval=interval) for i in range(3)]
    )
    assert changed_since(v0) == {"b0", "b1", "b2"}
    v1 = version()
    made = list(PeriodicTask.objects.filter(name__in=["b0", "b1"]))
    for task in made:
        task.description = "bulk"
    PeriodicTask.objects.bulk_update(made, ["description"])
    assert changed_since(v1) == {"b0", "b1"}


def test_bulk_create_validates(interval):
    v0 = version()
    with pytest.raises(ValidationError, match="JSON list"):
        PeriodicTask.objects.bulk_create([PeriodicTask(name="x", task="t", interval=interval, args={})])
    assert not PeriodicTask.objects.exists() and version() == v0


def test_schedule_edit_moves_its_tasks_only(tasks, interval):
    other = IntervalSchedule.objects.create(every=1, period="hours")
    PeriodicTask.objects.create(name="other", task="t", interval=other)
    v0 = version()
    interval.every = 7
    interval.save()
    assert changed_since(v0) == {"t0", "t1", "t2"}
    v1 = version()
    IntervalSchedule.objects.filter(pk=other.pk).update(every=2)
    assert changed_since(v1) == {"other"}


def test_schedule_bulk_update(tasks, interval):
    v0 = version()
    interval.every = 9
    IntervalSchedule.objects.bulk_update([interval], ["every"])
    assert changed_since(v0) == {"t0", "t1", "t2"}


def test_unused_schedule_edit_moves_the_counter_once():
    # it locks the counter first, so a task created on it meanwhile commits after it
    row = CrontabSchedule.objects.create()
    v0 = version()
    row.minute = "5"
    row.save()
    assert version() == v0 + 1


def test_schedule_delete_cascades_to_deletion_records(tasks, interval):
    v0 = version()
    interval.delete()
    assert deleted_since(v0) == {"t0", "t1", "t2"}
    IntervalSchedule.objects.create(every=1, period="days")
    assert not PeriodicTask.objects.exists()


def test_schedule_queryset_delete_cascades(tasks, interval):
    v0 = version()
    IntervalSchedule.objects.filter(pk=interval.pk).delete()
    assert deleted_since(v0) == {"t0", "t1", "t2"}


def test_loaddata(tmp_path, interval):
    clocked = ClockedSchedule.objects.create(clocked_time=datetime(2030, 1, 1, tzinfo=UTC))
    fixture = tmp_path / "tasks.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "django_periodic.periodictask",
                    "pk": 900,
                    "fields": {
                        "name": "loaded",
                        "task": "t",
                        "clocked": clocked.pk,
                        "one_off": True,
                        "version": 0,
                        "args": [],
                        "kwargs": {},
                        "headers": {},
                        "date_changed": "2026-01-01T00:00:00Z",
                    },
                }
            ]
        )
    )
    v0 = version()
    call_command("loaddata", str(fixture), verbosity=0)
    assert changed_since(v0) == {"loaded"}


def test_admin_actions_move_the_counter(tasks, rf, admin_user):
    from django_periodic.admin import PeriodicTaskAdmin

    v0 = version()
    request = rf.post("/")
    request.user = admin_user
    PeriodicTaskAdmin(PeriodicTask, site).delete_queryset(request, PeriodicTask.objects.filter(name="t0"))
    assert deleted_since(v0) == {"t0"}


def test_raw_sql_is_signalled_by_one_call(tasks):
    v0 = version()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {PeriodicTask._meta.db_table} SET description = 'raw'")
    assert version() == v0  # raw SQL is invisible until signalled
    PeriodicTasks.update_changed()
    state = PeriodicTasks.state()
    assert state.version == v0 + 1 and state.reset_version == state.version


def test_change_commits_with_its_write(interval):
    v0 = version()
    with pytest.raises(RuntimeError), transaction.atomic():
        PeriodicTask.objects.create(name="rolled back", task="t", interval=interval)
        raise RuntimeError
    assert version() == v0 and not changed_since(v0)


def test_tracker_row_is_recreated_after_a_flush(interval):
    PeriodicTasks.objects.all().delete()
    assert PeriodicTasks.state().version == 0
    PeriodicTask.objects.create(name="after flush", task="t", interval=interval)
    assert PeriodicTasks.state().version == 1


@pytest.mark.django_db(transaction=True)
def test_next_version_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside"):
        PeriodicTasks.next_version()


def test_celery_beat_compat_hooks(tasks):
    v0 = version()
    before = timezone.now()
    PeriodicTasks.changed(tasks[0])
    assert version() == v0 + 1 and PeriodicTasks.state().reset_version == v0 + 1
    assert before <= PeriodicTasks.last_change() <= timezone.now()
    tasks[1].no_changes = True  # django-celery-beat's opt-out
    PeriodicTasks.changed(tasks[1])
    assert version() == v0 + 1
