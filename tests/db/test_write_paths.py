"""Every write path moves the change counter, and none rewinds what beat wrote."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from django_periodic.models import ClockedSchedule, IntervalSchedule, PeriodicTask
from django_periodic.models.changes import PeriodicTasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_10s():
    return IntervalSchedule.objects.create(every=10, period="seconds")


def test_bulk_create_updating_conflicts_moves_the_version_of_the_rows_it_updates(
    make_scheduler, clock, every_10s
):
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    assert task.pk in scheduler.plans.by_id
    upsert = {"update_conflicts": True, "update_fields": ["enabled", "task"]}
    if connection.features.supports_update_conflicts_with_target:
        upsert["unique_fields"] = ["name"]
    PeriodicTask.objects.bulk_create(
        [PeriodicTask(name="t", task="tests.other", interval=every_10s, enabled=False)], **upsert
    )
    stored = PeriodicTask.objects.get(name="t")
    assert (stored.enabled, stored.task) == (False, "tests.other")
    assert stored.version > task.version and stored.version == PeriodicTasks.state().version
    scheduler.tick()
    assert task.pk not in scheduler.plans.by_id  # beat stops sending it at the next poll


def test_a_stale_form_does_not_enable_a_one_off_that_ran_meanwhile(make_scheduler, clock):
    when = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    clock.now = when
    PeriodicTask.objects.create(
        name="once",
        task="tests.registered",
        one_off=True,
        clocked=ClockedSchedule.objects.create(clocked_time=when),
    )
    opened = PeriodicTask.objects.get(name="once")  # a change form opened before the run
    scheduler = make_scheduler()
    scheduler.tick()
    assert scheduler.names() == ["once"]
    assert PeriodicTask.objects.get(name="once").enabled is False  # beat ended it
    opened.description = "edited in a form opened before the run"
    opened.save()
    stored = PeriodicTask.objects.get(name="once")
    assert stored.description == opened.description
    assert (stored.enabled, stored.total_run_count) == (False, 1)
    clock.advance(seconds=30)
    scheduler.tick()
    assert scheduler.names() == ["once"]  # not sent a second time
    stored.enabled = True  # enabling it on purpose still works
    stored.save()
    assert PeriodicTask.objects.get(name="once").enabled is True


def test_saving_a_task_whose_row_was_deleted_inserts_it_again(make_scheduler, clock, every_10s):
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s, args=[1])
    copy = PeriodicTask.objects.get(pk=task.pk)
    scheduler = make_scheduler()
    scheduler.tick()
    PeriodicTask.objects.filter(pk=task.pk).delete()
    scheduler.tick()
    assert task.pk not in scheduler.plans.by_id
    copy.args = [2]
    copy.save()
    stored = PeriodicTask.objects.get(pk=task.pk)
    assert (stored.name, stored.args, stored.interval_id) == ("t", [2], every_10s.pk)
    scheduler.tick()
    assert task.pk in scheduler.plans.by_id  # beat sees the row come back


def test_save_with_explicit_update_fields_on_a_deleted_row_still_raises(every_10s):
    task = PeriodicTask.objects.create(name="t", task="x", interval=every_10s)
    PeriodicTask.objects.filter(pk=task.pk).delete()
    task.args = [2]
    with pytest.raises(Exception, match="did not affect any rows"):
        task.save(update_fields=["args"])


def test_a_schedule_edit_takes_a_version_even_when_no_task_uses_it(every_10s):
    before = PeriodicTasks.state().version
    every_10s.every = 20
    every_10s.save()
    assert PeriodicTasks.state().version == before + 1  # one version, taken first


def test_every_write_path_takes_the_counter_before_any_row(every_10s):
    task = PeriodicTask.objects.create(name="t", task="x", interval=every_10s)
    statements = []

    def first_write(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("UPDATE", "DELETE", "INSERT")) and not statements:
            statements.append(sql)
        return execute(sql, params, many, context)

    counter = PeriodicTasks._meta.db_table
    writes = [
        lambda: PeriodicTask.objects.get(pk=task.pk).save(),
        lambda: PeriodicTask.objects.filter(pk=task.pk).update(args=[3]),
        lambda: every_10s.save(),
        lambda: IntervalSchedule.objects.filter(pk=every_10s.pk).update(every=30),
        lambda: PeriodicTask.objects.get(pk=task.pk).delete(),
    ]
    for write in writes:
        statements.clear()
        with connection.execute_wrapper(first_write):
            write()
        assert counter in statements[0], statements[0]
    other = IntervalSchedule.objects.create(every=5, period="seconds")
    PeriodicTask.objects.create(name="u", task="x", interval=other)
    statements.clear()
    with connection.execute_wrapper(first_write):
        other.delete()
    assert counter in statements[0]


def test_update_or_create_takes_the_counter_before_the_row(every_10s):
    PeriodicTask.objects.create(name="t", task="x", interval=every_10s)
    counter = PeriodicTasks._meta.db_table
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        PeriodicTask.objects.update_or_create(name="t", defaults={"args": [1]})
    locking = [i for i, sql in enumerate(statements) if "FOR UPDATE" in sql or counter in sql]
    assert counter in statements[locking[0]]  # the counter before the task row's lock


def test_a_schedule_upsert_moves_the_version_of_its_tasks(make_scheduler, clock, every_10s):
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    upsert = {"update_conflicts": True, "update_fields": ["every"]}
    if connection.features.supports_update_conflicts_with_target:
        upsert["unique_fields"] = ["id"]
    IntervalSchedule.objects.bulk_create(
        [IntervalSchedule(pk=every_10s.pk, every=99, period="seconds")], **upsert
    )
    assert IntervalSchedule.objects.get(pk=every_10s.pk).every == 99
    scheduler.tick()
    assert scheduler.plans.get(task.pk).schedule.run_every.total_seconds() == 99


def test_a_change_form_open_while_beat_ends_a_one_off_does_not_enable_it_again(
    admin_client, make_scheduler, clock
):
    import re

    when = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    clock.now = when
    task = PeriodicTask.objects.create(
        name="once",
        task="tests.registered",
        one_off=True,
        clocked=ClockedSchedule.objects.create(clocked_time=when),
    )
    url = f"/admin/django_periodic/periodictask/{task.pk}/change/"
    page = admin_client.get(url).content.decode()
    opened = re.search(r'name="opened_run_count" value="(\d+)"', page).group(1)
    scheduler = make_scheduler()
    scheduler.tick()  # beat sends it and ends it while the form is open
    assert PeriodicTask.objects.get(pk=task.pk).enabled is False
    from tests.db.test_admin import form_data

    data = form_data(name="once", task="tests.registered", clocked=task.clocked_id, one_off="on",
                     description="edited", opened_run_count=opened)  # fmt: skip
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    stored = PeriodicTask.objects.get(pk=task.pk)
    assert (stored.description, stored.enabled) == ("edited", False)
    assert "stays disabled" in response.content.decode()
    clock.advance(seconds=30)
    scheduler.tick()
    assert scheduler.names() == ["once"]
    data["opened_run_count"] = str(stored.total_run_count)  # a form opened after the run: enabling works
    admin_client.post(url, data)
    assert PeriodicTask.objects.get(pk=task.pk).enabled is True
