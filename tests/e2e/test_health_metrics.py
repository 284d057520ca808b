"""Operations with real processes: ``periodic_tasks health`` exit codes against live, standby
and stopped ``celery beat`` processes, and Prometheus metrics scraped from a running beat.

Each beat is given its own heartbeat folder, as beats on two hosts (or in two containers)
would have; the filesystem broker needs no server.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from django_periodic.models import IntervalSchedule, PeriodicTask, PeriodicTaskRun
from tests.support.processes import ROOT, Cluster, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECORD = "testproject.tasks.record_run"
#: a short lease, so a stopped beat's lease runs out within the test
SHORT_LEASE = {"LEASE_SECONDS": 3.0, "LEASE_RENEW_INTERVAL": 1.0, "LEASE_DRIFT_MARGIN": 0.5}


def periodic(**settings):
    return json.dumps({**SHORT_LEASE, **settings})


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def every_second():
    schedule = IntervalSchedule.objects.create(every=1, period="seconds")
    return PeriodicTask.objects.create(name="every-second", task=RECORD, interval=schedule)


@pytest.fixture
def cluster(tmp_path, request):
    made = Cluster("filesystem://", tmp_path, {"TESTPROJECT_DJANGO_PERIODIC": periodic()})
    yield made
    made.stop_all()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(made.logs())


def probe(cluster, *options, **env):
    """Run ``manage.py periodic_tasks health`` as a probe would: (exit code, its line)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "periodic_tasks", "health", *options],
        cwd=ROOT, env={**cluster.env, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, (done.stdout + done.stderr).strip()


def on_host(folder):
    """The settings of a beat (or a probe) on a host whose heartbeat folder is ``folder``."""
    return {"TESTPROJECT_DJANGO_PERIODIC": periodic(HEARTBEAT_DIR=str(folder))}


def holder(process):
    return f"{socket.gethostname()}:{process.popen.pid}"


def unreachable_database(tmp_path):
    """Environment that points the probe at a database that cannot be reached."""
    return {
        "postgresql": {"PGPORT": "1"},
        "mysql": {"MYSQL_PORT": "1"},
        "sqlite": {"DJANGO_PERIODIC_DB_NAME": str(tmp_path / "no-such-folder" / "db.sqlite3")},
    }[connection.vendor]


def test_health_exit_codes_for_live_standby_and_stopped_beats(cluster, every_second, tmp_path):
    code, line = probe(cluster)
    assert (code, line) == (1, "unhealthy: no beat has ever held the lease 'default'")

    host_a, host_b = tmp_path / "host-a", tmp_path / "host-b"
    leader = cluster.start_beat("beat-a", **on_host(host_a))
    leader.wait_log("is now the leader")
    code, line = probe(cluster)
    assert code == 0 and line.startswith(f"healthy: {holder(leader)} holds the lease 'default'"), line

    standby = cluster.start_beat("beat-b", **on_host(host_b))
    # liveness: the standby is alive; readiness of the leader: it is not the leader
    code, line = wait_for(
        lambda: (result := probe(cluster, "--this-host", **on_host(host_b)))[0] == 0 and result,
        timeout=30, what="the standby's heartbeat",
    )  # fmt: skip
    assert line.startswith(f"healthy: beat {holder(standby)} on this host") and "(standby)" in line, line
    code, line = probe(cluster, "--leader", **on_host(host_b))
    assert code == 1, line
    assert line == (
        f"unhealthy: the beat on this host ({holder(standby)}) stands by; "
        f"{holder(leader)} holds the lease 'default'"
    )
    code, line = probe(cluster, "--leader", **on_host(host_a))
    assert code == 0 and line.startswith("healthy: the beat on this host leads:"), line

    # the leader stops: the standby takes over and passes the leader check
    assert leader.stop() == 0
    wait_for(lambda: probe(cluster, "--leader", **on_host(host_b))[0] == 0, timeout=30, what="a takeover")
    code, line = probe(cluster, "--this-host", **on_host(host_a))
    assert code == 1 and f"the beat on this host ({holder(leader)}) is not running" in line, line

    # the last beat is killed: once its lease runs out, the cluster is unhealthy, and says why
    standby.stop(signal.SIGKILL)
    killed_at = time.monotonic()
    code, line = wait_for(
        lambda: (result := probe(cluster))[0] != 0 and result, timeout=30, what="the lease to run out"
    )
    assert time.monotonic() - killed_at < SHORT_LEASE["LEASE_SECONDS"] + 15
    assert code == 1
    assert line.startswith("unhealthy: the lease 'default' expired"), line
    assert f"last held by {holder(standby)}" in line, line

    code, line = probe(cluster, **unreachable_database(tmp_path))
    assert code == 2, line
    assert line.startswith("unhealthy: the database cannot be read ("), line


def scrape(port):
    """The samples at ``/metrics``, by (name, labels); empty while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_scraped_from_a_running_beat(cluster, every_second, tmp_path):
    port = free_port()
    cluster.start_beat(
        TESTPROJECT_DJANGO_PERIODIC=periodic(
            METRICS_PORT=port, METRICS_ADDRESS="127.0.0.1", HEARTBEAT_DIR=str(tmp_path / "heartbeat")
        )
    )
    sent_key = ("django_periodic_runs_sent_total", (("task", "every-second"),))
    samples = wait_for(
        lambda: (found := scrape(port)).get(sent_key, 0) >= 2 and found, timeout=30, what="two runs sent"
    )
    recorded = PeriodicTaskRun.objects.filter(task_name="every-second").count()
    assert 2 <= samples[sent_key] <= recorded  # runs are recorded before they are sent
    assert samples[("django_periodic_leader", ())] == 1
    assert samples[("django_periodic_tasks_loaded", ())] == 1
    assert samples[("django_periodic_send_lag_seconds_count", ())] >= samples[sent_key]
    assert samples[("django_periodic_broker_retries_total", ())] == 0
    for gauge in ("last_poll", "last_full_read", "last_tick"):
        when = samples[(f"django_periodic_{gauge}_timestamp_seconds", ())]
        assert time.time() - 60 < when <= time.time(), gauge
