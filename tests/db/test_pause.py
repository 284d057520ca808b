"""Pause with a reason: who disabled a task, when and why, from the admin or the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from django_periodic.models import IntervalSchedule, PeriodicTask, PeriodicTasks
from tests.db.test_admin import TASKS, act, change_url, form_data, messages_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_10s():
    return IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)


@pytest.fixture
def feed(every_10s):
    return PeriodicTask.objects.create(name="Import feed", task="proj.feed", interval=every_10s)


def pause_record(name: str = "Import feed") -> tuple:
    task = PeriodicTask.objects.get(name=name)
    return task.enabled, task.paused_by, task.paused_reason, task.paused_at is not None


def periodic_tasks(*args: str) -> str:
    out = StringIO()
    call_command("periodic_tasks", *args, stdout=out)
    return out.getvalue()


# -- the model ---------------------------------------------------------------------------


def test_pause_records_who_when_and_why_and_moves_the_version(feed):
    version = PeriodicTasks.state().version
    before = datetime.now(UTC)
    assert feed.pause("alice", "upstream feed is down") is True
    task = PeriodicTask.objects.get(pk=feed.pk)
    assert (task.enabled, task.paused_by, task.paused_reason) == (False, "alice", "upstream feed is down")
    assert before - timedelta(seconds=1) <= task.paused_at <= datetime.now(UTC)
    assert task.version > version  # beat drops it at its next poll
    assert feed.pause("bob", "again") is False  # disabled already: the first record stays
    assert pause_record() == (False, "alice", "upstream feed is down", True)


def _enabled(task: PeriodicTask) -> PeriodicTask:
    task = PeriodicTask.objects.get(pk=task.pk)
    task.enabled = True
    return task


@pytest.mark.parametrize(
    "enable",
    [
        lambda task: task.resume(),
        lambda task: PeriodicTask.objects.filter(pk=task.pk).update(enabled=True),
        lambda task: _enabled(task).save(),
        lambda task: _enabled(task).save(update_fields=["enabled"]),
        lambda task: PeriodicTask.objects.bulk_update([_enabled(task)], ["enabled"]),
    ],
    ids=["resume", "queryset-update", "save", "save-update-fields", "bulk-update"],
)
def test_every_way_of_enabling_clears_the_pause(feed, enable):
    feed.pause("alice", "maintenance")
    enable(feed)
    assert pause_record() == (True, "", "", False)


def test_beat_disabling_a_one_off_is_not_a_pause(feed):
    PeriodicTask.objects.filter(pk=feed.pk).update(enabled=False)  # as beat does after the one run
    assert pause_record() == (False, "", "", False)


# -- the admin ---------------------------------------------------------------------------


def test_disable_action_records_the_user_and_the_list_shows_it(admin_client, feed, every_10s):
    other = PeriodicTask.objects.create(name="Other", task="proj.other", interval=every_10s)
    assert messages_of(act(admin_client, "disable_tasks", [feed])) == ["Disabled 1 periodic task."]
    assert pause_record() == (False, "admin", "", True)
    PeriodicTask.objects.filter(pk=feed.pk).update(paused_reason="upstream feed is down")
    page = admin_client.get(TASKS).content.decode()
    assert "Paused by admin: upstream feed is down" in page
    assert 'title="Paused by admin on ' in page
    assert page.count("periodic-paused") == 1  # the enabled task has no note
    act(admin_client, "enable_tasks", [feed, other])
    assert pause_record() == (True, "", "", False)
    assert "periodic-paused" not in admin_client.get(TASKS).content.decode()


def test_toggle_action_records_the_user_for_the_tasks_it_disables(admin_client, feed, every_10s):
    PeriodicTask.objects.create(name="Off", task="proj.off", interval=every_10s, enabled=False)
    act(admin_client, "toggle_tasks", PeriodicTask.objects.all())
    assert pause_record() == (False, "admin", "", True)
    assert pause_record("Off") == (True, "", "", False)


def test_a_long_reason_is_cut_in_the_list_and_whole_on_hover(admin_client, feed):
    reason = "the supplier moved the feed; " * 5
    feed.pause("alice", reason.strip())
    page = admin_client.get(TASKS).content.decode()
    assert reason.strip() in page  # in the title
    assert "…</small>" in page


def test_unticking_enabled_in_the_form_records_user_and_reason(admin_client, feed, every_10s):
    data = form_data(schedule_type="interval", interval=every_10s.pk)
    del data["enabled"]  # unticked
    data["paused_reason"] = "waiting for the new API key"
    response = admin_client.post(change_url(feed), data)
    assert response.status_code == 302
    assert pause_record() == (False, "admin", "waiting for the new API key", True)
    page = admin_client.get(change_url(feed)).content.decode()
    assert "Paused by admin on " in page and "waiting for the new API key" in page
    # enabling again from the form clears the record, whatever the reason field still says
    data["enabled"] = "on"
    assert admin_client.post(change_url(feed), data).status_code == 302
    assert pause_record() == (True, "", "", False)


def test_editing_a_paused_task_keeps_who_paused_it(admin_client, feed, every_10s):
    feed.pause("alice", "maintenance")
    data = form_data(schedule_type="interval", interval=every_10s.pk, description="x")
    del data["enabled"]
    data["paused_reason"] = "maintenance"
    assert admin_client.post(change_url(feed), data).status_code == 302
    assert pause_record() == (False, "alice", "maintenance", True)


def test_the_add_form_has_the_reason_field(admin_client):
    page = admin_client.get(reverse("admin:django_periodic_periodictask_add")).content.decode()
    assert 'name="paused_reason"' in page


# -- the command line --------------------------------------------------------------------


def test_pause_and_resume_from_the_command_line(feed, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "deploy")
    out = periodic_tasks("pause", "Import feed", "--reason", "database migration")
    assert out == "Paused “Import feed”: beat sends nothing more for it.\n"
    assert pause_record() == (False, "command line (deploy)", "database migration", True)
    assert periodic_tasks("pause", "Import feed") == "“Import feed” is disabled already; nothing changed.\n"
    assert periodic_tasks("resume", "Import feed").startswith("Resumed “Import feed”")
    assert pause_record() == (True, "", "", False)
    assert periodic_tasks("resume", "Import feed") == "“Import feed” is enabled already; nothing changed.\n"


def test_pause_by_a_named_operator(feed):
    periodic_tasks("pause", "Import feed", "--by", "ops on-call")
    assert pause_record() == (False, "ops on-call", "", True)


def test_pause_of_an_unknown_task_says_so(feed):
    with pytest.raises(CommandError, match="No periodic task is named “nope”"):
        periodic_tasks("pause", "nope")
    with pytest.raises(CommandError, match="No periodic task is named “nope”"):
        periodic_tasks("resume", "nope")


def test_the_form_shows_who_paused_only_a_paused_task(admin_client, feed):
    assert "field-pause_record" not in admin_client.get(change_url(feed)).content.decode()
    feed.pause("alice", "maintenance")
    assert "field-pause_record" in admin_client.get(change_url(feed)).content.decode()
