"""How each implementation is built, driven, clocked, edited and stubbed.

Both schedulers are subclassed so the last call before the broker only counts:
django-periodic's ``send_run`` (the one place it publishes) and
django-celery-beat's ``send_task`` (Celery's ``Scheduler.send_task``, which its
``apply_async`` calls for a task the beat process does not import). Everything
before that call, argument evaluation, options, run ids, bookkeeping, still runs.
With a real broker the subclasses count and then send.

Clocks. django-periodic takes an injected ``clock`` (a :class:`FakeClock`).
django-celery-beat reads the wall clock in many places (``datetime.now`` in its
entries and crontabs, ``django.utils.timezone.now`` in interval schedules, a naive
``datetime.now()`` for its five-minute reload), so its process runs under
time-machine, which moves every wall-clock reading. Monotonic clocks are real in
both. In both, the clock is frozen while a burst drains (every run of a burst is
due at the same instant, as it would be if the scheduler kept up) and runs at
real speed otherwise.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import dataset
from probes import FakeClock


class DjangoPeriodic:
    """django-periodic, from ``pip install -e`` of the project."""

    key = "dp"
    label = "django-periodic"

    def __init__(self, stub: bool) -> None:
        from django_periodic import models
        from django_periodic.schedulers import DatabaseScheduler  # imported before start-up is timed

        self.models = models
        self.base = DatabaseScheduler
        self.stub = stub
        self.clock = FakeClock(dataset.T0)

    @property
    def version(self) -> str:
        import django_periodic

        return getattr(django_periodic, "__version__", "?")

    def build(self, n: int) -> dict[str, int]:
        return dataset.build(self.models, n, json_text=False)

    def scheduler(self, app: Any) -> Any:
        stub = self.stub

        class CountingScheduler(self.base):
            sent = 0

            def send_run(self, *args: Any, **kwargs: Any) -> Any:
                self.sent += 1
                return None if stub else super().send_run(*args, **kwargs)

        return CountingScheduler(app=app, clock=self.clock)

    def set_clock(self, at: datetime, running: bool) -> None:
        self.clock.set(at, running)

    def stop_clock(self) -> None:
        pass

    def reload_period(self) -> float:
        """Seconds between two full reads of every task while nothing changes."""
        from django_periodic.conf import app_settings

        return float(app_settings.FULL_RECONCILE_INTERVAL)

    def edit(self, marker: list[Any]) -> None:
        task = self.models.PeriodicTask.objects.get(name=dataset.EDIT_TARGET)
        task.args = marker
        task.save()
        self._edited = (
            task.pk,
            self.models.PeriodicTask.objects.values_list("version", flat=True).get(pk=task.pk),
        )

    def applied(self, scheduler: Any, marker: list[Any]) -> bool:
        """Whether the scheduler has read the edited row back from the change feed.

        django-periodic reads a task's arguments from its row when a run falls due,
        so the new args are used from the edit's commit on; what this waits for is
        the scheduler's own view (schedule, run state) catching up with the edit.
        """
        _pk, version = self._edited
        return (scheduler.loaded_version or 0) >= version

    def flush(self, scheduler: Any) -> None:
        """Run state is written before each batch is sent: nothing is left to write."""


class DjangoCeleryBeat:
    """django-celery-beat from PyPI, in its own virtual environment."""

    key = "dcb"
    label = "django-celery-beat"

    def __init__(self, stub: bool) -> None:
        import time_machine
        from django_celery_beat import models
        from django_celery_beat.schedulers import DatabaseScheduler  # imported before start-up is timed

        self.models = models
        self.base = DatabaseScheduler
        self.stub = stub
        self._travel = time_machine.travel(dataset.T0, tick=False)
        self._coordinates = self._travel.start()

    @property
    def version(self) -> str:
        from importlib.metadata import version

        return version("django-celery-beat")

    def build(self, n: int) -> dict[str, int]:
        counts = dataset.build(self.models, n, json_text=True)
        # What update_changed() does, dated before the fake clock starts, so the
        # edits made at fake times compare as newer.
        self.models.PeriodicTasks.objects.update_or_create(
            ident=1, defaults={"last_update": dataset.T0 - timedelta(hours=1)}
        )
        return counts

    def scheduler(self, app: Any) -> Any:
        stub = self.stub

        class CountingScheduler(self.base):
            sent = 0

            def send_task(self, *args: Any, **kwargs: Any) -> Any:
                self.sent += 1
                return None if stub else super().send_task(*args, **kwargs)

        return CountingScheduler(app=app)

    def set_clock(self, at: datetime, running: bool) -> None:
        self._coordinates.move_to(at, tick=running)

    def stop_clock(self) -> None:
        self._travel.stop()

    def reload_period(self) -> float:
        from django_celery_beat.schedulers import SCHEDULE_SYNC_MAX_INTERVAL

        return float(SCHEDULE_SYNC_MAX_INTERVAL)

    def edit(self, marker: list[Any]) -> None:
        task = self.models.PeriodicTask.objects.get(name=dataset.EDIT_TARGET)
        task.args = json.dumps(marker)
        task.save()

    def applied(self, scheduler: Any, marker: list[Any]) -> bool:
        # Its ``schedule`` property queries (and may reload): read the dict behind it.
        entry = (scheduler._schedule or {}).get(dataset.EDIT_TARGET)
        return entry is not None and list(entry.args) == marker

    def flush(self, scheduler: Any) -> None:
        """Write the run state held in memory (beat does it every 3 minutes and at exit)."""
        scheduler.sync()


ADAPTERS = {cls.key: cls for cls in (DjangoPeriodic, DjangoCeleryBeat)}
