"""Each leadership mechanism alone, on the database's real clock.

- The fence: a leader whose own monotonic clock still says it leads (the guard
  cannot fire: its clock stands still) must record and send nothing once the
  database says its lease is gone.
- The database clock: with the host's clock an hour off the database's, expiry
  and takeover still follow the database's ``NOW()``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db.models import F
from django.db.models.functions import Now

from django_periodic.beat.leadership import Lease, LeaseChange
from django_periodic.models import BeatLease, IntervalSchedule, PeriodicTask, PeriodicTaskRun

pytestmark = pytest.mark.django_db


def database_now() -> datetime:
    """The database's own clock."""
    BeatLease.objects.get_or_create(name="clock-probe")
    probe = BeatLease.objects.annotate(now=Now()).filter(name="clock-probe")
    return probe.values_list("now", flat=True).get()


def lease_row(name: str = "default") -> BeatLease:
    return BeatLease.objects.get(name=name)


def frozen_lease(**kwargs) -> Lease:
    """A lease on the real NOW() whose own-clock guard never fires (its monotonic clock stands still)."""
    return Lease(seconds=6, renew_every=2, monotonic=lambda: 1000.0, **kwargs)


@pytest.mark.parametrize("how", ["taken over", "ran out"])
def test_the_fence_alone_stops_a_leader_its_own_clock_still_trusts(make_scheduler, clock, caplog, how):
    schedule = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=schedule)
    scheduler = make_scheduler(lease=frozen_lease())
    scheduler.tick()
    assert scheduler.lease.is_leader and scheduler.plans
    if how == "taken over":  # another beat took the lease at a new epoch
        BeatLease.objects.filter(name="default").update(
            token="another-beat", epoch=F("epoch") + 1, expires_at=Now() + timedelta(seconds=6)
        )
    else:  # the lease ran out by the database's clock; nobody took it yet
        BeatLease.objects.filter(name="default").update(expires_at=Now() - timedelta(seconds=1))
    assert scheduler.lease.is_leader  # the guard has not noticed: only the fence can stop it
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler.tick()
    assert scheduler.sent == []
    assert not PeriodicTaskRun.objects.exists()
    assert PeriodicTask.objects.get().total_run_count == 0
    assert scheduler.lease.epoch is None and not scheduler.plans
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(message.startswith("Runs not recorded") for message in warnings), warnings


def test_the_fence_lets_the_holder_record_and_send(make_scheduler, clock):
    schedule = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=schedule)
    scheduler = make_scheduler(lease=frozen_lease())
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler.tick()
    assert scheduler.names() == ["t"] and PeriodicTaskRun.objects.get().state == "sent"


@pytest.mark.parametrize("skew", [timedelta(hours=1), timedelta(hours=-1)])
def test_the_lease_is_judged_by_the_database_clock_not_the_hosts(skew):
    mono = {"a": 1000.0, "b": 1000.0}
    a = Lease("skewed", seconds=6, renew_every=2, monotonic=lambda: mono["a"])
    b = Lease("skewed", seconds=6, renew_every=2, monotonic=lambda: mono["b"])
    with time_machine.travel(datetime.now(UTC) + skew, tick=True):
        assert abs(datetime.now(UTC) - database_now() - skew) < timedelta(minutes=1)  # the skew holds
        assert a.maintain() is LeaseChange.ACQUIRED
        row = lease_row("skewed")
        # the expiry written is the database's now plus the lease, whatever the host says
        assert abs(row.expires_at - (database_now() + timedelta(seconds=6))) < timedelta(seconds=3)
        assert abs(row.acquired_at - database_now()) < timedelta(seconds=3)
        # a standby whose host clock runs ahead does not take a lease the database holds live
        assert b.maintain() is LeaseChange.NONE and not b.is_leader
        mono["a"] += 2
        assert a.maintain() is LeaseChange.NONE and a.is_leader  # renewed by the database's clock
        # once the database says it ran out, a standby whose host clock runs behind takes it
        BeatLease.objects.filter(name="skewed").update(expires_at=Now() - timedelta(seconds=1))
        mono["b"] += 2
        assert b.maintain() is LeaseChange.ACQUIRED and b.epoch == 2
