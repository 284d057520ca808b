"""Outages with real processes: beat keeps running through database and broker failures.

The beat process reaches its database and broker through a proxy the test cuts
(open connections dropped, new ones refused), so shared services are never
restarted under other tests. On SQLite, the outage is an exclusive lock held
longer than beat's lock timeout ("database is locked").
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections import Counter
from urllib.parse import urlparse

import pytest
from django.db import connection

from django_periodic.models import IntervalSchedule, PeriodicTask, PeriodicTaskRun
from testproject.models import TaskRun
from tests.support.processes import Cluster, wait_for
from tests.support.proxy import CuttableProxy
from tests.support.services import BROKERS, require

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 5
RETRIED_ID = re.compile(r"Sent every-second \(id ([0-9a-f-]+)\) after \d+ failed attempt")


@pytest.fixture
def every_second():
    schedule = IntervalSchedule.objects.create(every=1, period="seconds")
    return PeriodicTask.objects.create(
        name="every-second", task="testproject.tasks.record_run", interval=schedule
    )


def received():
    return list(TaskRun.objects.filter(periodic_task_name="every-second").values_list("task_id", flat=True))


def database_outage():
    """Start an outage of beat's database; returns (env for beat, end-the-outage callable)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        locker = sqlite3.connect(settings["NAME"], isolation_level=None)

        def start():
            locker.execute("BEGIN EXCLUSIVE")

        def end():
            locker.execute("ROLLBACK")
            locker.close()

        return {"DJANGO_PERIODIC_SQLITE_TIMEOUT": "0.5"}, start, end
    proxy = CuttableProxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"])))
    variable = "PGPORT" if connection.vendor == "postgresql" else "MYSQL_PORT"

    def end():
        proxy.restore()

    return {variable: str(proxy.port)}, proxy.cut, end


def test_beat_survives_a_database_outage(every_second, tmp_path):
    require(BROKERS["redis"], "redis")
    beat_env, start_outage, end_outage = database_outage()
    cluster = Cluster(BROKERS["redis"], tmp_path)
    try:
        cluster.start_worker()
        beat = cluster.start_beat(**beat_env)
        wait_for(lambda: len(received()) >= 2, what="runs before the outage")
        start_outage()
        time.sleep(OUTAGE_SECONDS)  # the outage itself
        end_outage()
        restored = time.monotonic()
        count = len(received())
        wait_for(lambda: len(received()) >= count + 3, timeout=40, what="runs after the outage")
        resumed_after = time.monotonic() - restored
        assert beat.popen.poll() is None, "beat exited"
        assert "Database error" in beat.log() and "beat keeps running" in beat.log()
    finally:
        cluster.stop_all()
    assert max(Counter(received()).values()) == 1
    print(f"database outage of {OUTAGE_SECONDS}s: runs resumed {resumed_after:.1f}s after it ended")


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_beat_survives_a_broker_outage_without_losing_runs(every_second, tmp_path, broker):
    url = BROKERS[broker]
    require(url, broker)
    parsed = urlparse(url)
    proxy = CuttableProxy((parsed.hostname, parsed.port or {"redis": 6379, "rabbitmq": 5672}[broker]))
    proxied = url.replace(f":{parsed.port}", f":{proxy.port}") if parsed.port else url
    cluster = Cluster(url, tmp_path)
    try:
        cluster.start_worker()  # the worker reaches the broker directly
        beat = cluster.start_beat(CELERY_BROKER_URL=proxied)
        wait_for(lambda: len(received()) >= 2, what="runs before the outage")
        proxy.cut()
        wait_for(lambda: "Broker error" in beat.log(), timeout=30, what="beat to meet the outage")
        time.sleep(OUTAGE_SECONDS)  # the outage itself
        proxy.restore()
        # every run the database recorded until now must arrive: the ledger, not beat's log,
        # says what beat owes the workers
        owed = recorded()
        assert owed, "beat recorded no run"
        wait_for(lambda: owed <= set(received()), timeout=60, what="every run the ledger recorded")
        assert beat.popen.poll() is None, "beat exited"
        assert "failed attempt" in beat.log()
    finally:
        cluster.stop_all()
        proxy.close()
    assert not PeriodicTaskRun.objects.filter(task_name="every-second", state="not_sent").exists()
    # A publish whose reply the cut swallowed is sent again: at least once, never lost. Only
    # a run beat retried may arrive twice, and both copies carry the run's own id.
    twice = {run_id for run_id, count in Counter(received()).items() if count > 1}
    assert twice <= set(RETRIED_ID.findall(beat.log())), twice


def recorded():
    """The run ids beat recorded in the ledger for the task (what it must deliver)."""
    return set(
        PeriodicTaskRun.objects.filter(task_name="every-second").values_list("celery_task_id", flat=True)
    )
