"""Schedules as files: ``periodic_tasks export`` and ``periodic_tasks import``."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from django_periodic.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from tests.support.schedule_files import (
    SCHEDULE_MODELS,
    changed_since,
    empty_tables,
    export,
    make_varied_tasks,
    run,
    version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied_tasks():
    make_varied_tasks()


def test_export_writes_schedules_by_value_sorted_by_name(varied_tasks):
    document = json.loads(export())
    names = [entry["name"] for entry in document["tasks"]]
    assert names == sorted(names) and "from settings" not in names and len(names) == 7
    berlin = next(entry for entry in document["tasks"] if entry["name"] == "nightly report (Berlin)")
    assert list(berlin)[:3] == ["name", "task", "crontab"]
    assert berlin["crontab"] == {
        "minute": "30",
        "hour": "2",
        "day_of_month": "*",
        "month_of_year": "*",
        "day_of_week": "1-5",
        "timezone": "Europe/Berlin",
    }
    assert berlin["expires"] == "2031-06-30T22:00:00+00:00" and berlin["missed_runs"] == "all"
    assert "last_run_at" not in berlin and "id" not in berlin and "version" not in berlin
    tasks = {entry["name"]: entry for entry in document["tasks"]}
    assert tasks["poll feeds"]["interval"] == {"every": 10, "period": "seconds"}
    assert tasks["poll feeds"]["args"] == [1, "two", {"three": None}]
    # keys of JSON objects sorted, whatever order the database keeps them in
    assert list(tasks["poll feeds"]["kwargs"]) == ["ids", "source"]
    assert list(tasks["poll feeds"]["options"]) == ["countdown", "time_limit"]
    assert tasks["open shutters"]["solar"] == {"event": "sunrise", "latitude": 52.52, "longitude": 13.405}
    assert tasks["launch"]["clocked"] == {"clocked_time": "2030-01-01T09:00:00.123456+00:00"}


def test_round_trip_into_an_empty_database_gives_the_same_file(varied_tasks, tmp_path):
    first = tmp_path / "schedules.json"
    export("-o", str(first))
    empty_tables()
    out = run("import", str(first))
    assert out.splitlines()[-1] == "7 added, 0 changed, 0 unchanged, 0 failed, 0 disabled."
    assert export() == first.read_text(encoding="utf-8")
    task = PeriodicTask.objects.get(name="nightly report (Berlin)")
    assert str(task.crontab.timezone) == "Europe/Berlin" and task.description == "Nächtlicher Bericht ☾"
    assert PeriodicTask.objects.get(name="paused").enabled is False
    # the same file again changes nothing, and beat is told of nothing
    v0 = version()
    assert (
        run("import", str(first)).splitlines()[-1] == "0 added, 0 changed, 7 unchanged, 0 failed, 0 disabled."
    )
    assert version() == v0


def test_yaml_round_trip(varied_tasks, tmp_path):
    first = tmp_path / "schedules.yaml"
    export("-o", str(first))
    text = first.read_text(encoding="utf-8")
    assert text.startswith("format: 1\ntasks:\n- name: launch\n") and "timezone: Europe/Berlin" in text
    empty_tables()
    run("import", str(first))
    assert export("--format", "yaml") == text


def test_yaml_without_pyyaml_names_the_extra(varied_tasks, monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)  # as if PyYAML were not installed
    with pytest.raises(CommandError, match=r"pip install 'django-periodic\[yaml\]'"):
        export("--format", "yaml")
    path = tmp_path / "schedules.yml"
    path.write_text("format: 1\ntasks: []\n")
    with pytest.raises(CommandError, match=r"django-periodic\[yaml\]"):
        run("import", str(path))


def test_with_state_exports_and_restores_run_state(varied_tasks, tmp_path):
    ran = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    PeriodicTask.objects.filter(name="poll feeds").update(last_run_at=ran, total_run_count=41)
    path = tmp_path / "state.json"
    export("--with-state", "-o", str(path))
    entry = next(e for e in json.loads(path.read_text())["tasks"] if e["name"] == "poll feeds")
    assert (entry["last_run_at"], entry["total_run_count"]) == ("2026-05-01T12:00:00+00:00", 41)
    empty_tables()
    run("import", str(path))
    task = PeriodicTask.objects.get(name="poll feeds")
    assert (task.last_run_at, task.total_run_count) == (ran, 41)


def edited_file(tmp_path):
    """The export with one task edited, one added and one removed."""
    document = json.loads(export())
    tasks = {entry["name"]: entry for entry in document["tasks"]}
    tasks["poll feeds"]["interval"] = {"every": 30, "period": "seconds"}
    tasks["poll feeds"]["priority"] = 3
    del tasks["open shutters"]
    tasks["new one"] = {"name": "new one", "task": "proj.new", "crontab": {"minute": "*/5"}}
    path = tmp_path / "edited.json"
    path.write_text(json.dumps({"format": 1, "tasks": list(tasks.values())}))
    return path


def test_dry_run_shows_the_diff_and_writes_nothing(varied_tasks, tmp_path):
    path = edited_file(tmp_path)
    before, v0 = export(), version()
    rows = [model.objects.count() for model in SCHEDULE_MODELS]
    out = run("import", str(path), "--dry-run", "--prune").splitlines()
    assert out == [
        "changed: poll feeds",
        "  interval.every: 10 -> 30",
        "  priority: 7 -> 3",
        "added: new one",
        "disabled (not in the file): open shutters",
        "  enabled: true -> false",
        "Dry run, nothing written: 1 added, 1 changed, 5 unchanged, 0 failed, 1 disabled.",
    ]
    assert version() == v0 and export() == before
    assert [model.objects.count() for model in SCHEDULE_MODELS] == rows


def test_import_applies_through_the_change_feed_and_prune_disables(varied_tasks, tmp_path, make_scheduler):
    scheduler = make_scheduler()
    scheduler.tick()
    assert "open shutters" in scheduler.schedule
    path = edited_file(tmp_path)
    v0 = version()
    out = run("import", str(path), "--prune")
    assert out.splitlines()[-1] == "1 added, 1 changed, 5 unchanged, 0 failed, 1 disabled."
    # "from settings" is defined in code: not in the file, yet never pruned
    assert changed_since(v0) == {"poll feeds", "new one", "open shutters"}
    assert PeriodicTask.objects.get(name="open shutters").enabled is False
    assert PeriodicTask.objects.get(name="poll feeds").interval.every == 30
    scheduler.tick()  # a running beat picks the changes up from the delta
    assert "open shutters" not in scheduler.schedule and "new one" in scheduler.schedule
    assert scheduler.schedule["poll feeds"].schedule.run_every == timedelta(seconds=30)
    assert scheduler.stats["full_loads"] == 1


def test_a_bad_task_is_reported_by_field_and_the_others_apply(tmp_path):
    keep = PeriodicTask.objects.create(
        name="keep", task="proj.keep", interval=IntervalSchedule.objects.create(every=1, period="hours")
    )
    kept_version = keep.version
    tasks = [
        {"name": "good 1", "task": "proj.a", "interval": {"every": 5, "period": "minutes"}},
        {"name": "bad cron", "task": "proj.b", "crontab": {"minute": "61", "hour": "3"}},
        {"name": "bad field", "task": "proj.c", "colour": "red", "crontab": {"minute": "1", "second": "5"}},
        # a valid new schedule, but a priority the model refuses: nothing of it may stay
        {"name": "keep", "task": "proj.keep", "crontab": {"minute": "7", "hour": "7"}, "priority": 300},
        {"name": "no schedule", "task": "proj.d"},
        {"name": "bad zone", "task": "", "crontab": {"timezone": "Mars/Olympus"}},
        {
            "name": "good 2",
            "task": "proj.e",
            "clocked": {"clocked_time": "2030-01-01T10:00:00"},
            "one_off": True,
        },
        {
            "name": "good 3",
            "task": "proj.f",
            "solar": {"event": "sunset", "latitude": 48.1, "longitude": 11.6},
        },
    ]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": 1, "tasks": tasks}))
    out = StringIO()
    with pytest.raises(CommandError, match="6 tasks could not be applied"):
        call_command("periodic_tasks", "import", str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert "failed: bad cron" in lines
    assert any(line.startswith("  crontab.minute: ") and "61" in line for line in lines)
    assert "failed: bad field" in lines
    assert any(line.startswith("  colour: Unknown field.") for line in lines)
    assert any(line.startswith("  crontab.second: Unknown field.") for line in lines)
    assert "failed: keep" in lines and any(line.startswith("  priority: ") for line in lines)
    assert any(line.startswith("  schedule: Give exactly one schedule") for line in lines)
    assert "failed: good 2" in lines and any(line.startswith("  clocked.clocked_time: ") for line in lines)
    # a bad schedule does not hide the task's own errors
    zone = lines.index("failed: bad zone")
    assert lines[zone + 1 : zone + 3] == [
        "  crontab.timezone: Invalid timezone 'Mars/Olympus'",
        "  task: This field cannot be blank.",
    ]
    assert lines[-1] == "2 added, 0 changed, 0 unchanged, 6 failed, 0 disabled."
    assert set(PeriodicTask.objects.values_list("name", flat=True)) == {"good 1", "good 3", "keep"}
    keep.refresh_from_db()
    assert keep.interval_id is not None and keep.priority is None and keep.version == kept_version
    assert not CrontabSchedule.objects.exists()  # the refused tasks' new schedules were rolled back


def test_a_file_that_is_not_a_schedules_document_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(CommandError, match="list of tasks"):
        run("import", str(path))
    path.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        run("import", str(path))


def test_an_unchanged_file_costs_a_few_queries_whatever_its_size(tmp_path, django_assert_max_num_queries):
    schedules = [
        {"interval": {"every": 5, "period": "minutes"}},
        {"crontab": {"minute": "0", "hour": "*/2", "timezone": "Europe/Berlin"}},
        {"clocked": {"clocked_time": "2030-01-01T00:00:00+00:00"}, "one_off": True},
    ]
    tasks = [{"name": f"task {i:03d}", "task": "proj.t", **schedules[i % 3]} for i in range(60)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"format": 1, "tasks": tasks}))
    assert run("import", str(path)).splitlines()[-1].startswith("60 added")
    assert CrontabSchedule.objects.count() == 1  # one row per distinct schedule
    # a savepoint and its release, the tasks with their schedules, one lookup per schedule
    with django_assert_max_num_queries(6):
        out = run("import", str(path))
    assert out.splitlines()[-1] == "0 added, 0 changed, 60 unchanged, 0 failed, 0 disabled."


def test_a_new_crontab_reads_the_zone_list_once(monkeypatch):
    """The default zone is checked against the system's zones: a walk of the zone files,
    which once made every unsaved crontab (each entry of an import) cost 30 ms."""
    import zoneinfo

    from django_periodic.timing.cron_times import zone_names

    walks = []
    real = zoneinfo.available_timezones
    monkeypatch.setattr(zoneinfo, "available_timezones", lambda: walks.append(1) or real())
    zone_names.cache_clear()
    zones = {str(CrontabSchedule().timezone) for _ in range(5)}
    assert len(walks) == 1 and len(zones) == 1


def test_import_reads_standard_input_and_refuses_tasks_defined_in_code(varied_tasks, monkeypatch):
    document = {
        "format": 1,
        "tasks": [
            {"name": "from settings", "task": "proj.other", "interval": {"every": 2, "period": "days"}},
            {"name": "piped", "task": "proj.piped", "interval": {"every": 2, "period": "days"}},
        ],
    }
    monkeypatch.setattr("sys.stdin", StringIO(json.dumps(document)))
    out = StringIO()
    with pytest.raises(CommandError, match="1 task could not be applied"):
        call_command("periodic_tasks", "import", "-", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[:2] == [
        "failed: from settings",
        "  name: This task is defined in code (the beat_schedule setting): change it there.",
    ]
    assert "added: piped" in lines
    assert PeriodicTask.objects.get(name="from settings").task == "proj.code"


def test_a_dry_run_fails_when_a_task_would_not_apply(tmp_path):
    path = tmp_path / "check.json"
    tasks = [
        {"name": "ok", "task": "proj.ok", "interval": {"every": 1, "period": "hours"}},
        {"name": "typo", "task": "proj.typo", "interval": {"every": 1, "period": "hour"}},
    ]
    path.write_text(json.dumps({"format": 1, "tasks": tasks}))
    out = StringIO()
    with pytest.raises(CommandError, match=r"^1 task would not apply \(see above\)\.$"):
        call_command("periodic_tasks", "import", str(path), "--dry-run", stdout=out)
    assert "  interval.period: Value 'hour' is not a valid choice." in out.getvalue().splitlines()
    assert not PeriodicTask.objects.exists()


def test_a_hand_written_yaml_file_with_plain_timestamps(tmp_path):
    path = tmp_path / "short.yml"
    path.write_text(
        "format: 1\n"
        "tasks:\n"
        "- name: nightly\n"
        "  task: proj.nightly\n"
        "  crontab: {minute: 0, hour: 3, timezone: Europe/Berlin}\n"
        "  expires: 2031-01-01T00:00:00+01:00\n"  # YAML reads this as a datetime, not text
        "- name: launch\n"
        "  task: proj.launch\n"
        "  clocked: {clocked_time: 2030-01-01 09:00:00}\n"  # no offset: refused
        "  one_off: true\n"
    )
    with pytest.raises(CommandError, match="1 task could not be applied"):
        run("import", str(path))
    task = PeriodicTask.objects.get(name="nightly")
    assert task.expires == datetime(2030, 12, 31, 23, 0, tzinfo=UTC)
    assert (task.crontab.minute, task.crontab.hour) == ("0", "3")
