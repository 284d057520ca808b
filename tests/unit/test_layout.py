"""The code's shape: public import paths, the layer rules, module and function sizes."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "django_periodic"

#: Every name users (or code written for django-celery-beat) import, by module.
PUBLIC = {
    "django_periodic.schedulers": [
        "DatabaseScheduler", "ModelEntry", "DEFAULT_MAX_INTERVAL", "SCHEDULE_SYNC_MAX_INTERVAL",
    ],
    "django_periodic.models": [
        "PeriodicTask", "PeriodicTasks", "IntervalSchedule", "CrontabSchedule", "SolarSchedule",
        "ClockedSchedule", "BeatLease", "PeriodicTaskDeletion", "DAYS", "HOURS", "MINUTES", "SECONDS",
        "MICROSECONDS", "PERIOD_CHOICES", "SINGULAR_PERIODS", "SOLAR_SCHEDULES", "cronexp",
        "crontab_schedule_celery_timezone",
    ],
    "django_periodic.admin": [
        "PeriodicTaskAdmin", "IntervalScheduleAdmin", "CrontabScheduleAdmin", "SolarScheduleAdmin",
        "ClockedScheduleAdmin",
    ],
    "django_periodic.apps": ["DjangoPeriodicConfig"],
    "django_periodic.conf": ["app_settings", "configured_clock", "current_time"],
    "django_periodic.beat.publish": ["send", "run_task_id", "task_options", "RUN_NAMESPACE"],
    # django-celery-beat's module names, kept as thin modules over our own code
    "django_periodic.utils": [
        "make_aware", "now", "aware_now", "is_database_scheduler", "NEVER_CHECK_TIMEOUT",
    ],
    "django_periodic.validators": [
        "crontab_validator", "minute_validator", "hour_validator", "day_of_month_validator",
        "month_of_year_validator", "day_of_week_validator",
    ],
    "django_periodic.querysets": ["PeriodicTaskQuerySet"],
    "django_periodic.tzcrontab": ["TzAwareCrontab"],
    "django_periodic.clockedschedule": ["clocked"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_import(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(imported, name)]
    assert missing == []


def test_compatibility_names_are_the_real_objects() -> None:
    from django_periodic import clockedschedule, querysets, tzcrontab, utils, validators
    from django_periodic.models.querysets import PeriodicTaskQuerySet
    from django_periodic.models.validators import minute_validator
    from django_periodic.schedulers import DatabaseScheduler
    from django_periodic.timing.schedules import TzAwareCrontab, clocked

    assert tzcrontab.TzAwareCrontab is TzAwareCrontab and clockedschedule.clocked is clocked
    assert querysets.PeriodicTaskQuerySet is PeriodicTaskQuerySet
    assert validators.minute_validator is minute_validator
    assert utils.is_database_scheduler(DatabaseScheduler) and utils.is_database_scheduler("django")
    assert not utils.is_database_scheduler("celery.beat:PersistentScheduler")


def test_scheduler_entry_point_names_the_scheduler() -> None:
    from importlib import metadata

    targets = {ep.name: ep.value for ep in metadata.entry_points(group="celery.beat_schedulers")}
    assert targets.get("django_periodic") == "django_periodic.schedulers:DatabaseScheduler"


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_time_math_never_touches_the_database() -> None:
    offenders = {
        path.name: name
        for path in (PACKAGE / "timing").glob("*.py")
        for name in _imports(path)
        if name == "django.db" or name.startswith("django.db.")
    }
    assert offenders == {}


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_no_function_over_50_lines_on_the_send_path() -> None:
    send_path = [PACKAGE / "schedulers.py", *(PACKAGE / "beat").glob("*.py")]
    long = {}
    for path in send_path:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if length > 50:
                    long[f"{path.name}:{node.name}"] = length
    assert long == {}
