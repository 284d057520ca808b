"""The admin through Django's test client: pages, forms, actions, query counts, checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import metadata
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.core.management import call_command
from django.urls import reverse

from django_periodic import checks as periodic_checks
from django_periodic.beat.publish import run_task_id
from django_periodic.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTaskRun,
    SolarSchedule,
)
from django_periodic.models.changes import PeriodicTasks
from tests.support import browser
from tests.support.browser import NOW, REGISTERED

pytestmark = pytest.mark.django_db

pinned_clock = browser.pinned_clock
published = browser.published

TASKS = reverse("admin:django_periodic_periodictask_changelist")
ADD_TASK = reverse("admin:django_periodic_periodictask_add")


def change_url(task):
    return reverse("admin:django_periodic_periodictask_change", args=[task.pk])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def every_10s():
    return IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)


@pytest.fixture
def new_york():
    return CrontabSchedule.objects.create(minute="30", hour="9", timezone="America/New_York")


@pytest.fixture
def launch():
    return ClockedSchedule.objects.create(clocked_time=NOW + timedelta(days=1))


def form_data(**fields):
    """A complete POST for the task form; ``fields`` override."""
    data = {
        "name": "Import feed",
        "task": "proj.tasks.import_feed",
        "enabled": "on",
        "description": "",
        "schedule_type": "",
        "interval": "",
        "crontab": "",
        "solar": "",
        "clocked": "",
        "start_time_0": "",
        "start_time_1": "",
        "expires_0": "",
        "expires_1": "",
        "grace_seconds": "",
        "missed_runs": "once",
        "missed_runs_limit": "10",
        "jitter_seconds": "",
        "overlap": "allow",
        "overlap_timeout": "",
        "args": "[]",
        "kwargs": "{}",
        "queue": "",
        "exchange": "",
        "routing_key": "",
        "priority": "",
        "expire_seconds": "",
        "headers": "{}",
        "options": "{}",
    }
    data.update({key: str(value) for key, value in fields.items()})
    return {key: value for key, value in data.items() if value is not None}


# -- registration and checks ---------------------------------------------------------


def test_every_model_is_registered_with_search_for_autocomplete():
    for model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
        assert admin.site.is_registered(model)
    task_admin = admin.site._registry[PeriodicTask]
    assert set(task_admin.autocomplete_fields) == {"interval", "crontab", "solar", "clocked"}
    for model in (IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
        assert admin.site._registry[model].search_fields
    assert checks.run_checks(tags=[checks.Tags.admin]) == []


def checked(**options):
    """What ``manage.py check`` reports: Django runs the registered checks."""
    out, err = StringIO(), StringIO()
    call_command("check", stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


def test_w002_when_beat_scheduler_points_elsewhere(settings):
    settings.CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
    assert [m.id for m in periodic_checks.check_beat_scheduler()] == ["django_periodic.W002"]
    report = checked()
    assert "django_periodic.W002" in report and "CELERY_BEAT_SCHEDULER" in report
    settings.CELERY_BEAT_SCHEDULER = "django"
    assert periodic_checks.check_beat_scheduler() == []
    assert "django_periodic.W002" not in checked()


def test_w001_when_django_celery_beat_owns_the_django_alias(monkeypatch):
    ours = metadata.EntryPoint(
        name="django", value="django_periodic.schedulers:DatabaseScheduler", group="celery.beat_schedulers"
    )
    other = metadata.EntryPoint(
        name="django", value="django_celery_beat.schedulers:DatabaseScheduler", group="celery.beat_schedulers"
    )
    monkeypatch.setattr(periodic_checks.metadata, "entry_points", lambda group: [ours])
    assert periodic_checks.check_django_celery_beat() == []  # only this app owns the alias
    assert "django_periodic.W001" not in checked()
    monkeypatch.setattr(periodic_checks.metadata, "entry_points", lambda group: [other])
    found = periodic_checks.check_django_celery_beat()
    assert [m.id for m in found] == ["django_periodic.W001"]
    assert "-S django_periodic" in found[0].hint
    report = checked()
    assert "django_periodic.W001" in report and "-S django_periodic" in report


# -- the change list -----------------------------------------------------------------


def test_change_list_columns_show_schedule_words_and_next_run(admin_client, pinned_clock, new_york, launch):
    PeriodicTask.objects.create(name="Morning report", task="proj.report", crontab=new_york)
    PeriodicTask.objects.create(name="Launch", task="proj.launch", clocked=launch, one_off=True)
    PeriodicTask.objects.create(name="Paused", task="proj.report", crontab=new_york, enabled=False)
    response = admin_client.get(TASKS)
    assert response.status_code == 200
    page = response.content.decode()
    assert "At 09:30 America/New_York" in page
    # next run in the site's zone (UTC): 09:30 New York is 14:30 UTC in March before DST
    assert "March 5, 2026, 2:30 p.m." in page
    assert "Once, at Fri 2026-03-06 12:00:00 UTC" in page
    assert "March 6, 2026, noon" in page


def test_schedule_words_in_the_users_language(admin_client, new_york):
    PeriodicTask.objects.create(name="Morning report", task="proj.report", crontab=new_york)
    page = admin_client.get(TASKS, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Um 09:30 America/New_York" in page


def make_tasks(count, start=0):
    every = IntervalSchedule.objects.get_or_create(every=10, period="seconds")[0]
    cron = CrontabSchedule.objects.get_or_create(minute="30", hour="9", timezone="America/New_York")[0]
    solar = SolarSchedule.objects.get_or_create(event="sunrise", latitude=52.5, longitude=13.4)[0]
    at = ClockedSchedule.objects.create(clocked_time=NOW + timedelta(hours=1))
    kinds = [{"interval": every}, {"crontab": cron}, {"solar": solar}, {"clocked": at, "one_off": True}]
    PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"task {i:05}", task=f"proj.t{i % 7}", queue=f"q{i % 3}", **kinds[i % 4])
        for i in range(start, start + count)
    )


#: session, user, count, the page of rows (with their schedules), the distinct
#: values of the task and queue filters.
CHANGE_LIST_QUERIES = 6


def test_change_list_costs_the_same_queries_for_10_and_1000_tasks(
    admin_client, pinned_clock, django_assert_num_queries
):
    make_tasks(10)
    with django_assert_num_queries(CHANGE_LIST_QUERIES):
        small = admin_client.get(TASKS)
    make_tasks(990, start=10)
    with django_assert_num_queries(CHANGE_LIST_QUERIES):
        large = admin_client.get(TASKS)
    assert small.context["cl"].result_count == 10
    assert large.context["cl"].result_count == 1000
    assert len(large.context["cl"].result_list) == 100  # one page


def test_filters_and_search(admin_client, every_10s, new_york, launch):
    PeriodicTask.objects.create(name="Import", task="proj.import", interval=every_10s, queue="feeds")
    PeriodicTask.objects.create(
        name="Report", task="proj.report", crontab=new_york, description="for the board"
    )
    PeriodicTask.objects.create(
        name="Launch", task="proj.launch", clocked=launch, one_off=True, enabled=False
    )

    def names(**query):
        return sorted(t.name for t in admin_client.get(TASKS, query).context["cl"].result_list)

    assert names(schedule_type="crontab") == ["Report"]
    assert names(schedule_type="clocked") == ["Launch"]
    assert names(enabled__exact="0") == ["Launch"]
    assert names(one_off__exact="1") == ["Launch"]
    assert names(defined_in_code__exact="0") == ["Import", "Launch", "Report"]
    assert names(task="proj.import") == ["Import"]
    assert names(queue="feeds") == ["Import"]
    assert names(q="board") == ["Report"]
    assert names(q="proj.launch") == ["Launch"]
    assert names(crontab__id__exact=new_york.pk) == ["Report"]


# -- the change form -----------------------------------------------------------------


def test_add_form_suggests_registered_tasks_including_autodiscovered(admin_client):
    page = admin_client.get(ADD_TASK).content.decode()
    assert 'list="id_task_choices"' in page
    assert '<option value="testproject.tasks.add">' in page  # from app.autodiscover_tasks()
    assert 'value="celery.backend_cleanup"' in page
    assert 'value="celery.chord_unlock"' not in page


def test_change_form_previews_next_runs_in_both_zones_across_dst(admin_client, pinned_clock, new_york):
    task = PeriodicTask.objects.create(name="Morning report", task="proj.report", crontab=new_york)
    response = admin_client.get(change_url(task))
    page = response.content.decode()
    assert "At 09:30 America/New_York" in page
    assert "In America/New_York" in page and "In UTC" in page
    expected = [
        ("Thu 2026-03-05 09:30:00 EST", "Thu 2026-03-05 14:30:00 UTC", "2\xa0hours, 30\xa0minutes"),
        ("Fri 2026-03-06 09:30:00 EST", "Fri 2026-03-06 14:30:00 UTC", "1\xa0day, 2\xa0hours"),
        ("Sat 2026-03-07 09:30:00 EST", "Sat 2026-03-07 14:30:00 UTC", "2\xa0days, 2\xa0hours"),
        ("Sun 2026-03-08 09:30:00 EDT", "Sun 2026-03-08 13:30:00 UTC", "3\xa0days, 1\xa0hour"),
        ("Mon 2026-03-09 09:30:00 EDT", "Mon 2026-03-09 13:30:00 UTC", "4\xa0days, 1\xa0hour"),
    ]
    for row in expected:
        assert "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" in page


def test_preview_of_interval_clocked_disabled_and_broken_tasks(admin_client, pinned_clock, every_10s, launch):
    interval = PeriodicTask.objects.create(
        name="Import", task="proj.import", interval=every_10s, start_time=NOW + timedelta(minutes=1)
    )
    page = admin_client.get(change_url(interval)).content.decode()
    assert "Every 10 seconds" in page and "In America" not in page
    assert "<td>Thu 2026-03-05 12:01:00 UTC</td><td>1\xa0minute</td>" in page
    assert page.count("<tr><td>") == 5

    one_off = PeriodicTask.objects.create(name="Launch", task="proj.launch", clocked=launch, one_off=True)
    page = admin_client.get(change_url(one_off)).content.decode()
    assert page.count("<tr><td>") == 1 and "Fri 2026-03-06 12:00:00 UTC" in page

    paused = PeriodicTask.objects.create(name="Paused", task="proj.p", interval=every_10s, enabled=False)
    page = admin_client.get(change_url(paused)).content.decode()
    assert "Disabled: beat sends nothing until the task is enabled." in page

    PeriodicTask.objects.filter(pk=interval.pk).update(load_error="args is not a JSON list: {}")
    PeriodicTask._base_manager.filter(pk=interval.pk).update(defined_in_code=True)
    response = admin_client.get(change_url(interval))
    assert "Beat could not load this task: args is not a JSON list: {}" in messages_of(response)
    assert any("beat_schedule setting" in m for m in messages_of(response))


def test_preview_follows_the_missed_runs_policy(admin_client, pinned_clock, every_10s):
    ran_long_ago = {"interval": every_10s, "last_run_at": NOW - timedelta(hours=1)}
    once = PeriodicTask.objects.create(name="Once", task="proj.t", **ran_long_ago)
    skip = PeriodicTask.objects.create(
        name="Skip", task="proj.t", missed_runs="skip", grace_seconds=0, **ran_long_ago
    )
    page = admin_client.get(change_url(once)).content.decode()
    assert "<td>Thu 2026-03-05 11:00:10 UTC</td><td>due now</td>" in page  # the one catch-up run
    page = admin_client.get(change_url(skip)).content.decode()
    assert "due now" not in page
    assert "<tr><td>Thu 2026-03-05 12:00:10 UTC</td><td>10 seconds</td></tr>" in page


#: session, user, the task with its schedule rows, the one selected clocked option
#: of the autocomplete widget, the task's recent runs.
CHANGE_FORM_QUERIES = 5


def test_change_form_stays_small_with_100_000_clocked_rows(admin_client, django_assert_num_queries, launch):
    task = PeriodicTask.objects.create(name="Launch", task="proj.launch", clocked=launch, one_off=True)
    ContentType.objects.get_for_model(PeriodicTask)  # cached once per process, as in production
    with django_assert_num_queries(CHANGE_FORM_QUERIES):
        assert admin_client.get(change_url(task)).status_code == 200
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for batch in range(20):
        ClockedSchedule.objects.bulk_create(
            ClockedSchedule(clocked_time=start + timedelta(minutes=batch * 5000 + i)) for i in range(5000)
        )
    assert ClockedSchedule.objects.count() == 100_001
    with django_assert_num_queries(CHANGE_FORM_QUERIES):
        response = admin_client.get(change_url(task))
    page = response.content.decode()
    assert page.count('<option value="') < 50  # no dropdown with the whole table
    with django_assert_num_queries(ADD_FORM_QUERIES):
        admin_client.get(ADD_TASK)
    autocomplete = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "django_periodic",
            "model_name": "periodictask",
            "field_name": "clocked",
            "term": "2030",
        },
    ).json()
    assert len(autocomplete["results"]) == 20 and autocomplete["pagination"]["more"] is True


#: session, user: no schedule table is read to show an empty form.
ADD_FORM_QUERIES = 2


def test_bad_json_says_what_is_wrong(admin_client, every_10s):
    response = admin_client.post(
        ADD_TASK,
        form_data(interval=every_10s.pk, args='[1, "two"', kwargs="[1]", headers='"text"', options="{,}"),
    )
    errors = response.context["adminform"].form.errors
    assert errors["args"] == ["Enter valid JSON: Expecting ',' delimiter at line 1, column 10."]
    assert errors["kwargs"] == ['Enter a JSON object such as {"key": "value"}; this is a list.']
    assert errors["headers"] == ['Enter a JSON object such as {"key": "value"}; this is a string.']
    assert errors["options"] == [
        "Enter valid JSON: Expecting property name enclosed in double quotes at line 1, column 2."
    ]
    response = admin_client.post(ADD_TASK, form_data(interval=every_10s.pk, args='{"a": 1}'))
    assert response.context["adminform"].form.errors["args"] == [
        'Enter a JSON list such as ["text", 1]; this is an object.'
    ]
    page = response.content.decode()
    assert "{&quot;a&quot;: 1}" in page  # what was typed is shown again, to fix in place
    assert not PeriodicTask.objects.exists()


def test_two_schedules_at_once_are_named(admin_client, every_10s, new_york):
    response = admin_client.post(ADD_TASK, form_data(interval=every_10s.pk, crontab=new_york.pk))
    errors = response.context["adminform"].form.errors
    expected = "Only one schedule can be set; interval, crontab are all set. Keep one, clear the others."
    assert errors["interval"] == [expected] and errors["crontab"] == [expected]
    assert not PeriodicTask.objects.exists()


def test_schedule_type_must_match_the_schedule_set(admin_client, every_10s):
    response = admin_client.post(ADD_TASK, form_data(schedule_type="crontab", interval=every_10s.pk))
    assert response.context["adminform"].form.errors["schedule_type"] == [
        "The schedule type is “Crontab”, but the schedule set is under “Interval”. "
        "Pick one under “Crontab”, or change the type to “Interval”."
    ]
    response = admin_client.post(ADD_TASK, form_data())
    assert "Choose a schedule: set one of interval, crontab, solar or clocked." in (
        response.context["adminform"].form.non_field_errors()
    )


def test_saving_a_task_from_the_form(admin_client, every_10s):
    response = admin_client.post(
        ADD_TASK,
        form_data(
            schedule_type="interval",
            interval=every_10s.pk,
            args='["https://example.com/feed"]',
            kwargs='{"retry": true}',
            queue="feeds",
            priority=5,
        ),
    )
    assert response.status_code == 302
    task = PeriodicTask.objects.get(name="Import feed")
    assert (task.args, task.kwargs, task.queue, task.priority) == (
        ["https://example.com/feed"],
        {"retry": True},
        "feeds",
        5,
    )
    page = admin_client.get(change_url(task)).content.decode()
    assert 'value="interval" class="radiolist inline" id="id_schedule_type_0" checked' in page


def test_clocked_task_must_be_one_off(admin_client, launch):
    response = admin_client.post(ADD_TASK, form_data(schedule_type="clocked", clocked=launch.pk))
    assert response.context["adminform"].form.errors["one_off"] == [
        "A clocked schedule runs once: tick one_off."
    ]


def test_bad_cron_fields_are_explained(admin_client):
    response = admin_client.post(
        reverse("admin:django_periodic_crontabschedule_add"),
        {
            "minute": "61",
            "hour": "*/0",
            "day_of_month": "*",
            "month_of_year": "*",
            "day_of_week": "*",
            "timezone": "UTC",
        },
    )
    errors = response.context["adminform"].form.errors
    assert errors["minute"] == [
        "'61' is not a valid minute: 61 is out of range. "
        "Use 0-59, '*', lists (0,30), ranges (0-15) or steps (*/15)."
    ]
    assert errors["hour"] == [
        "'*/0' is not a valid hour: a step of zero never matches. "
        "Use 0-23, '*', lists (8,20), ranges (9-17) or steps (*/2)."
    ]
    assert not CrontabSchedule.objects.exists()


def test_each_cron_error_is_said_once(admin_client):
    response = admin_client.post(
        reverse("admin:django_periodic_crontabschedule_add"),
        {"minute": "61", "hour": "*", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"},
    )
    assert len(response.context["adminform"].form.errors["minute"]) == 1


# -- actions -------------------------------------------------------------------------


@pytest.fixture
def three(every_10s):
    return [
        PeriodicTask.objects.create(name=name, task="proj.t", interval=every_10s, enabled=enabled)
        for name, enabled in (("a", True), ("b", True), ("c", False))
    ]


def act(client, action, tasks, **extra):
    data = {"action": action, "_selected_action": [t.pk for t in tasks], **extra}
    return client.post(TASKS, data, follow=True)


def enabled_names():
    return sorted(PeriodicTask.objects.filter(enabled=True).values_list("name", flat=True))


def test_enable_disable_and_toggle(admin_client, three):
    version = PeriodicTasks.state().version
    assert messages_of(act(admin_client, "disable_tasks", three)) == ["Disabled 2 periodic tasks."]
    assert enabled_names() == [] and PeriodicTasks.state().version > version
    assert messages_of(act(admin_client, "enable_tasks", three[:1])) == ["Enabled 1 periodic task."]
    assert enabled_names() == ["a"]
    assert messages_of(act(admin_client, "toggle_tasks", three)) == [
        "Toggled 3 periodic tasks: 2 now enabled, 1 now disabled."
    ]
    assert enabled_names() == ["b", "c"]


def test_actions_need_the_change_permission(client, django_user_model, three, published):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_periodictask"))
    client.force_login(viewer)
    page = client.get(TASKS).content.decode()
    assert "disable_tasks" not in page and "run_tasks_now" not in page
    act(client, "disable_tasks", three)
    assert enabled_names() == ["a", "b"]
    act(client, "run_tasks_now", three)  # posted by hand: the action is refused, nothing is sent
    assert published == [] and not PeriodicTaskRun.objects.exists()


def test_run_now_sends_with_every_option_through_beats_path(admin_client, published, pinned_clock, every_10s):
    task = PeriodicTask.objects.create(
        name="Report",
        task=REGISTERED,
        interval=every_10s,
        args=[1, "two"],
        kwargs={"k": "v"},
        queue="reports",
        exchange="reports",
        routing_key="reports.daily",
        priority=7,
        expire_seconds=600,
        headers={"tenant": "acme"},
        options={"countdown": 5},
    )
    unknown = PeriodicTask.objects.create(name="Remote", task="only.on.workers", interval=every_10s)
    response = act(admin_client, "run_tasks_now", [task, unknown])
    report_id, remote_id = run_task_id(task.pk, NOW), run_task_id(unknown.pk, NOW)
    assert messages_of(response) == [
        "Sent 2 periodic tasks to run now: "
        f"“Remote” as only.on.workers, task id {remote_id}; "
        f"“Report” as {REGISTERED} to queue reports, task id {report_id}."
    ]
    by_name = {message["task"]: message for message in published}
    report = by_name[REGISTERED]
    assert report["headers"]["id"] == report_id
    assert report["body"][0] == [1, "two"] and report["body"][1] == {"k": "v"}
    assert (report["exchange"], report["routing_key"]) == ("reports", "reports.daily")
    assert report["properties"]["priority"] == 7
    assert report["headers"]["tenant"] == "acme"
    assert report["headers"]["periodic_task_name"] == "Report"
    assert report["headers"]["eta"] is not None and report["headers"]["expires"] is not None
    assert by_name["only.on.workers"]["headers"]["id"] == remote_id  # sent by name
    assert PeriodicTask.objects.get(pk=task.pk).total_run_count == 0  # run state is beat's
    ledger = {run.celery_task_id: run for run in PeriodicTaskRun.objects.all()}
    assert set(ledger) == {report_id, remote_id}
    assert {(run.trigger, run.state) for run in ledger.values()} == {("run_now", "sent")}


def test_run_now_reports_what_it_could_not_send(admin_client, published, every_10s):
    PeriodicTask.objects.create(name="Good", task="proj.good", interval=every_10s)
    bad = PeriodicTask.objects.create(name="Bad", task="proj.bad", interval=every_10s)
    PeriodicTask.objects.filter(pk=bad.pk).update(options={"countdown": "soon"})  # around validation
    response = act(admin_client, "run_tasks_now", PeriodicTask.objects.all())
    sent, failed = messages_of(response)
    assert sent.startswith("Sent 1 periodic task to run now: “Good”")
    assert failed.startswith("Could not send 1 periodic task: “Bad”: ")
    assert [m["task"] for m in published] == ["proj.good"]
    states = dict(PeriodicTaskRun.objects.values_list("task_name", "state"))
    assert states == {"Good": "sent", "Bad": "not_sent"}
    assert PeriodicTaskRun.objects.get(task=bad).reason.startswith("run now failed: ")


# -- the run ledger ------------------------------------------------------------------

RUNS = reverse("admin:django_periodic_periodictaskrun_changelist")


def make_runs(task, count, state="succeeded"):
    start = NOW - timedelta(minutes=count)
    PeriodicTaskRun.objects.bulk_create(
        PeriodicTaskRun(
            task=task,
            task_name=task.name,
            scheduled_at=start + timedelta(minutes=i),
            celery_task_id=run_task_id(task.pk, start + timedelta(minutes=i)),
            state=state,
            recorded_at=start + timedelta(minutes=i),
            started_at=start + timedelta(minutes=i, seconds=1),
            finished_at=start + timedelta(minutes=i, seconds=3),
        )
        for i in range(count)
    )


def test_the_runs_list_costs_the_same_queries_at_any_size(admin_client, every_10s, django_assert_num_queries):
    task = PeriodicTask.objects.create(name="Busy", task=REGISTERED, interval=every_10s)
    make_runs(task, 10)
    admin_client.get(RUNS)  # session and caches warm
    # session, user, the page's runs, the count of the filtered list
    with django_assert_num_queries(4) as small:
        page = admin_client.get(RUNS)
    make_runs(PeriodicTask.objects.create(name="Busier", task=REGISTERED, interval=every_10s), 3000)
    with django_assert_num_queries(len(small.captured_queries)):
        page = admin_client.get(RUNS)
    assert page.status_code == 200 and page.content.decode().count('class="periodic-run-state"') == 50


def test_the_runs_list_searches_by_exact_task_id_and_filters_by_state(admin_client, every_10s):
    task = PeriodicTask.objects.create(name="Busy", task=REGISTERED, interval=every_10s)
    make_runs(task, 3)
    PeriodicTaskRun.objects.filter(pk=PeriodicTaskRun.objects.order_by("pk")[0].pk).update(
        state="failed", reason="ValueError: boom"
    )
    wanted = PeriodicTaskRun.objects.order_by("pk")[1].celery_task_id
    found = admin_client.get(RUNS, {"q": wanted}).context["cl"].result_list
    assert [run.celery_task_id for run in found] == [wanted]
    assert [
        run.celery_task_id for run in admin_client.get(RUNS, {"q": wanted[:8]}).context["cl"].result_list
    ] == []
    failed = admin_client.get(RUNS, {"state__exact": "failed"}).context["cl"].result_list
    assert [run.reason for run in failed] == ["ValueError: boom"]


def test_the_task_list_shows_the_last_status_and_duration(admin_client, every_10s, django_assert_num_queries):
    task = PeriodicTask.objects.create(name="Busy", task=REGISTERED, interval=every_10s)
    make_runs(task, 3)
    PeriodicTaskRun.objects.filter(pk=PeriodicTaskRun.objects.latest("scheduled_at").pk).update(
        state="failed"
    )
    page = admin_client.get(TASKS).content.decode()
    assert ">Failed</span>" in page and "2.0 s" in page


def test_a_tasks_page_shows_its_recent_runs_and_their_picture(admin_client, every_10s):
    task = PeriodicTask.objects.create(name="Busy", task=REGISTERED, interval=every_10s)
    make_runs(task, 25)
    page = admin_client.get(
        reverse("admin:django_periodic_periodictask_change", args=[task.pk])
    ).content.decode()
    assert page.count("<rect ") == 20  # the last 20 runs, drawn
    assert 'class="periodic-recent-runs"' in page and page.count("<code>") >= 20


def test_runs_cannot_be_added_or_edited_in_the_admin(admin_client, every_10s):
    task = PeriodicTask.objects.create(name="Busy", task=REGISTERED, interval=every_10s)
    make_runs(task, 1)
    run = PeriodicTaskRun.objects.get()
    assert admin_client.get(reverse("admin:django_periodic_periodictaskrun_add")).status_code == 403
    page = admin_client.get(reverse("admin:django_periodic_periodictaskrun_change", args=[run.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


# -- schedule admins -----------------------------------------------------------------


def test_schedule_admins_show_the_tasks_using_them(admin_client, every_10s, new_york):
    for i in range(12):
        PeriodicTask.objects.create(name=f"t{i:02}", task="proj.t", interval=every_10s)
    page = admin_client.get(reverse("admin:django_periodic_intervalschedule_changelist")).content.decode()
    assert f'{TASKS}?interval__id__exact={every_10s.pk}">12</a>' in page
    page = admin_client.get(
        reverse("admin:django_periodic_intervalschedule_change", args=[every_10s.pk])
    ).content.decode()
    assert ">t00</a>" in page and ">t09</a>" in page and ">t10</a>" not in page
    assert "and 2 more" in page
    assert "12 tasks use this schedule; deleting the schedule deletes them too." in page
    page = admin_client.get(
        reverse("admin:django_periodic_crontabschedule_change", args=[new_york.pk])
    ).content.decode()
    assert "No task uses this schedule." in page and "At 09:30 America/New_York" in page


def test_crontab_time_zone_filter_lists_only_the_zones_in_use(admin_client, new_york):
    CrontabSchedule.objects.create(minute="0", timezone="Europe/Berlin")
    CrontabSchedule.objects.create(minute="15", timezone="Europe/Berlin")
    crontabs = reverse("admin:django_periodic_crontabschedule_changelist")

    changelist = admin_client.get(crontabs).context["cl"]
    [zones] = [spec for spec in changelist.filter_specs if spec.field_path == "timezone"]
    assert [str(choice["display"]) for choice in zones.choices(changelist)] == [
        "All",
        "America/New_York",
        "Europe/Berlin",
    ]
    assert admin_client.get(crontabs, {"timezone": "Europe/Berlin"}).context["cl"].result_count == 2


def test_deleting_a_schedule_names_its_tasks_first(admin_client, every_10s):
    PeriodicTask.objects.create(name="Import feed", task="proj.import", interval=every_10s)
    url = reverse("admin:django_periodic_intervalschedule_delete", args=[every_10s.pk])
    page = admin_client.get(url).content.decode()
    assert "Import feed" in page and "All of the following related items will be deleted" in page
    admin_client.post(url, {"post": "yes"})
    assert not PeriodicTask.objects.exists()


def test_interval_autocomplete_reads_like_the_schedule(admin_client):
    from django_periodic.models import IntervalSchedule

    IntervalSchedule.objects.create(every=10, period="seconds")
    IntervalSchedule.objects.create(every=10, period="minutes")
    IntervalSchedule.objects.create(every=1, period="hours")

    def found(term):
        response = admin_client.get(reverse("admin:autocomplete"), {
            "term": term, "app_label": "django_periodic", "model_name": "periodictask",
            "field_name": "interval"})  # fmt: skip
        return sorted(result["text"] for result in response.json()["results"])

    assert found("every 10 seconds") == ["every 10 seconds"]
    assert found("10 sec") == ["every 10 seconds"]
    assert found("10") == ["every 10 minutes", "every 10 seconds"]
    assert found("hour") == ["every 1 hour"]
