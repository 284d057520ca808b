"""``periodic_tasks health`` on the lease row, with the database clock injected; beat's
heartbeat and metrics from the scheduler in process."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import DateTimeField, Value
from django.db.models.functions import Cast
from prometheus_client import CollectorRegistry

from django_periodic.beat import metrics
from django_periodic.beat.leadership import Lease
from django_periodic.heartbeat import Found
from django_periodic.management import health
from django_periodic.models import IntervalSchedule, PeriodicTask, PeriodicTaskRun

pytestmark = pytest.mark.django_db


class DbClock:
    """The database's clock, as an SQL value the lease and the probe both read."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        value = Value(self.now, output_field=DateTimeField())
        # MySQL hands a selected parameter back as text; NOW(6), which beat uses, is a DATETIME
        return Cast(value, DateTimeField()) if connection.vendor == "mysql" else value


@pytest.fixture
def db_clock(clock):
    return DbClock(clock.now)


def probe(db_clock, **options):
    return health.check({"grace": 10.0, **options}, db_now=db_clock)


def test_no_beat_ever_held_the_lease(db_clock):
    verdict = probe(db_clock)
    assert verdict.code == health.UNHEALTHY
    assert verdict.line == "unhealthy: no beat has ever held the lease 'default'"


def test_healthy_while_the_holder_renews_within_its_lease(db_clock):
    lease = Lease(seconds=6, renew_every=2, db_now=db_clock)
    lease.maintain()
    db_clock.now += timedelta(seconds=1.5)
    verdict = probe(db_clock)
    assert verdict.code == health.HEALTHY
    assert verdict.line == (
        f"healthy: {lease.holder} holds the lease 'default' (epoch 1), renewed 1.5s ago, valid for 4.5s more"
    )


def test_a_lease_not_renewed_in_time_says_when_and_who(db_clock, settings):
    settings.DJANGO_PERIODIC = {"LEASE_SECONDS": 6.0}
    lease = Lease(seconds=6, renew_every=2, db_now=db_clock)
    lease.maintain()
    db_clock.now += timedelta(seconds=6)
    assert probe(db_clock).code == health.UNHEALTHY  # at its expiry, not after it
    db_clock.now += timedelta(seconds=14)
    verdict = probe(db_clock)
    assert verdict.code == health.UNHEALTHY
    assert verdict.line == (
        f"unhealthy: the lease 'default' expired 14s ago, last held by {lease.holder} (epoch 1); "
        "no beat has renewed or taken it since"
    )


def test_a_lease_released_at_shutdown_says_so(db_clock, settings):
    settings.DJANGO_PERIODIC = {"LEASE_SECONDS": 6.0}
    lease = Lease(seconds=6, renew_every=2, db_now=db_clock)
    lease.maintain()
    db_clock.now += timedelta(seconds=1)
    lease.release()
    db_clock.now += timedelta(seconds=3)
    verdict = probe(db_clock)
    assert verdict.code == health.UNHEALTHY
    assert f"the lease 'default' was released 3s ago by {lease.holder} (epoch 1)" in verdict.line


def test_another_lease_name_is_judged_on_its_own_row(db_clock):
    Lease("reports", seconds=6, renew_every=2, db_now=db_clock).maintain()
    assert probe(db_clock).code == health.UNHEALTHY
    assert probe(db_clock, lease="reports").code == health.HEALTHY


def test_leader_check_passes_for_the_holder_and_fails_for_a_standby(db_clock):
    Lease(seconds=6, renew_every=2, db_now=db_clock).maintain()
    holder = health.read_lease("default", db_now=db_clock).holder
    host, pid = holder.rsplit(":", 1)
    mine = Found(None, host, int(pid), "default", True, 5.0, None, 0.0)  # type: ignore[arg-type]
    state = health.read_lease("default", db_now=db_clock)
    assert health.leader_verdict([mine], state, "default", 6.0).code == health.HEALTHY
    standby = Found(None, host, int(pid) + 1, "default", False, 5.0, None, 0.0)  # type: ignore[arg-type]
    verdict = health.leader_verdict([standby], state, "default", 6.0)
    assert verdict.code == health.UNHEALTHY
    assert verdict.line == (
        f"unhealthy: the beat on this host ({host}:{int(pid) + 1}) stands by; "
        f"{holder} holds the lease 'default'"
    )
    db_clock.now += timedelta(seconds=7)
    state = health.read_lease("default", db_now=db_clock)
    verdict = health.leader_verdict([mine], state, "default", 6.0)
    assert verdict.code == health.UNHEALTHY
    assert "does not lead: the lease 'default' expired 1s ago" in verdict.line


def test_the_command_prints_one_line_and_exits_with_the_code(settings):
    settings.DJANGO_PERIODIC = {}
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("periodic_tasks", "health", stdout=out, stderr=err)
    assert exited.value.code == health.UNHEALTHY
    assert err.getvalue() == "unhealthy: no beat has ever held the lease 'default'\n" and out.getvalue() == ""
    Lease().maintain()
    call_command("periodic_tasks", "health", stdout=out, stderr=err)
    assert out.getvalue().startswith("healthy: ") and len(out.getvalue().splitlines()) == 1


# -- the scheduler in process: heartbeat file and metrics ---------------------------------


@pytest.fixture
def registry():
    """Metrics on, on a private registry (no HTTP server), for one test."""
    registry = CollectorRegistry()
    before = metrics.active
    metrics.active = metrics.PrometheusMetrics(registry)
    yield registry
    metrics.active = before


@pytest.fixture
def every_10s():
    return IntervalSchedule.objects.create(every=10, period="seconds")


def sample(registry, name, **labels):
    return registry.get_sample_value(name, labels or None)


def test_a_tick_writes_the_heartbeat_the_probe_reads(make_scheduler, every_10s, settings, tmp_path, db_clock):
    settings.DJANGO_PERIODIC = {"HEARTBEAT_DIR": str(tmp_path)}
    scheduler = make_scheduler()
    scheduler.tick()
    path = tmp_path / f"beat-{socket.gethostname()}-{os.getpid()}.json"
    assert path.exists()
    verdict = health.check({"this_host": True, "grace": 10.0})
    assert verdict.code == health.HEALTHY and "(leader)" in verdict.line
    verdict = health.check({"leader": True, "grace": 10.0})
    assert verdict.code == health.HEALTHY and verdict.line.startswith("healthy: the beat on this host leads:")
    os.utime(path, (1_000_000.0, 1_000_000.0))  # its last tick, long ago
    verdict = health.check({"this_host": True, "grace": 10.0})
    assert verdict.code == health.UNHEALTHY and "stuck or paused" in verdict.line


def test_sends_are_counted_by_task_with_their_lag(make_scheduler, clock, every_10s, registry):
    task = PeriodicTask.objects.create(name="report", task="tests.registered", interval=every_10s)
    scheduler = make_scheduler()
    scheduler.tick()
    clock.now = task.date_changed + timedelta(seconds=12)  # due at +10 s: sent 2 s late
    scheduler.tick()
    assert scheduler.names() == ["report"]
    assert sample(registry, "django_periodic_runs_sent_total", task="report") == 1
    assert sample(registry, "django_periodic_send_lag_seconds_sum") == pytest.approx(2.0, abs=0.01)
    assert sample(registry, "django_periodic_leader") == 1
    assert sample(registry, "django_periodic_tasks_loaded") == 1
    assert sample(registry, "django_periodic_last_full_read_timestamp_seconds") > 0


def test_broker_retries_and_overlap_skips_are_counted(make_scheduler, clock, every_10s, registry):
    task = PeriodicTask.objects.create(
        name="busy", task="tests.registered", interval=every_10s, overlap="skip"
    )
    scheduler = make_scheduler()
    scheduler.fail_sends = 1
    scheduler.tick()
    clock.now = task.date_changed + timedelta(seconds=10)
    scheduler.tick()  # the broker refuses it: kept for retry
    assert sample(registry, "django_periodic_broker_retries_total") == 1
    assert sample(registry, "django_periodic_runs_sent_total", task="busy") is None
    clock.advance(seconds=10)  # the next run falls due while the first is still unfinished
    scheduler.tick()
    assert sample(registry, "django_periodic_runs_skipped_total", task="busy", reason="overlap") == 1
    assert PeriodicTaskRun.objects.filter(task_name="busy", state="skipped").count() == 1


def test_missed_runs_skipped_by_policy_are_counted(make_scheduler, clock, registry):
    from django_periodic.models import CrontabSchedule

    cron = CrontabSchedule.objects.create(minute="*", timezone="UTC")
    PeriodicTask.objects.create(
        name="c", task="tests.registered", crontab=cron, missed_runs="skip", grace_seconds=30
    )
    scheduler = make_scheduler()
    scheduler.tick()
    clock.advance(minutes=5)  # beat was away: the runs it missed are past their grace
    scheduler.tick()
    assert sample(registry, "django_periodic_runs_skipped_total", task="c", reason="missed") >= 1
