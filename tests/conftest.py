"""Shared fixtures: a Celery app on the in-memory broker, an injected clock, a scheduler.

The tests are arranged like the code: ``unit/`` (pure functions, no database),
``db/`` (models, the scheduler in process, the admin's views), ``e2e/`` (real
``celery beat`` and ``celery worker`` processes) and ``browser/`` (the admin in
Chromium). Each folder's tests carry its mark, so ``-m unit`` runs one tier.
Helpers live in ``support/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from celery import Celery
from hypothesis import settings

from django_periodic.beat.leadership import Lease
from django_periodic.schedulers import DatabaseScheduler

TIERS = ("unit", "db", "e2e", "browser")


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings as django_settings

    # Users made by the tests need no real password hashing.
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC))


def registered(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - never executed
    """The task ``tests.registered``, known to the test app (other names are sent by name)."""


@pytest.fixture
def celery_app() -> Iterator[Celery]:
    app = Celery("tests", set_as_current=False)
    app.conf.update(
        broker_url="memory://",
        result_backend=None,
        result_expires=None,
        beat_schedule={},
        task_default_queue="tests",
        timezone="UTC",
    )
    # On this app only: a shared task would be added to every Celery app made later,
    # once per test, each time as another callable under the same name.
    app.task(name="tests.registered", shared=False)(registered)
    yield app
    app.close()


class RecordingScheduler(DatabaseScheduler):
    """Sends nothing: records (task, args, kwargs, options, run id) of each run."""

    fail_sends = 0

    def __init__(self, *args: Any, **kwargs: Any):
        self.sent: list[dict[str, Any]] = []
        super().__init__(*args, **kwargs)

    def send_run(self, entry: Any, run_id: str, producer: Any) -> None:
        if self.fail_sends:
            self.fail_sends -= 1
            from kombu.exceptions import OperationalError

            raise OperationalError("broker unreachable (test)")
        self.sent.append(
            {
                "name": entry.name,
                "task": entry.task,
                "args": entry.args,
                "kwargs": entry.kwargs,
                "options": entry.options,
                "id": run_id,
            }
        )

    def names(self) -> list[str]:
        return [s["name"] for s in self.sent]


@pytest.fixture
def make_scheduler(celery_app: Celery, clock: Clock):
    """Build a scheduler on the test database with the injected clock."""
    made: list[DatabaseScheduler] = []

    def make(**kwargs: Any) -> RecordingScheduler:
        """A new beat; the ones made before stop first, as in a restart."""
        for previous in made:
            previous.close()
        kwargs.setdefault("poll_interval", 0)
        # A long lease, so lease renewals stay out of the way of what these tests count.
        kwargs.setdefault("lease", Lease(seconds=3600, renew_every=1800))
        scheduler = RecordingScheduler(app=celery_app, clock=clock, **kwargs)
        made.append(scheduler)
        return scheduler

    return make


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can print logs on failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# Hypothesis: a quick default for developers; CI selects "oracle" (5,000 cases) once per run.
settings.register_profile("default", max_examples=300, deadline=None)
settings.register_profile("oracle", max_examples=5_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
