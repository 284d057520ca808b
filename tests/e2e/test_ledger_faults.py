"""The run ledger under faults, with real beat and worker processes.

For each fault: every run beat recorded reaches a worker (none lost), no run reaches a
worker twice outside the window the README names, and the ledger agrees with what the
workers executed.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.db import connection, connections
from django.utils import timezone

from django_periodic.conf import app_settings
from django_periodic.models import BeatLease, IntervalSchedule, PeriodicTask, PeriodicTaskRun
from testproject.models import TaskRun
from tests.support.processes import Cluster, wait_for
from tests.support.proxy import CuttableProxy
from tests.support.services import BROKERS, require

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE = float(app_settings.LEASE_SECONDS) + float(app_settings.LEASE_RENEW_INTERVAL)


def due_burst(count, every=3600, prefix="burst"):
    """``count`` tasks whose next run is due as beat starts (one run each within the test)."""
    schedule = IntervalSchedule.objects.create(every=every, period="seconds")
    ran = timezone.now() - timedelta(seconds=every + 1)
    PeriodicTask.objects.bulk_create(
        PeriodicTask(
            name=f"{prefix}-{i}", task="testproject.tasks.record_run", interval=schedule, last_run_at=ran
        )
        for i in range(count)
    )


def ledger():
    return dict(PeriodicTaskRun.objects.exclude(state="skipped").values_list("celery_task_id", "state"))


def executed():
    return Counter(TaskRun.objects.values_list("task_id", flat=True))


def leader_pid():
    holder = BeatLease.objects.filter(name="default").values_list("holder", flat=True).first()
    return int(holder.rsplit(":", 1)[1]) if holder else None


def stop_beats_and_drain(cluster):
    """Stop every beat, then let the worker finish what was published before it stops too.

    A beat stopped mid-batch leaves the rest of the batch recorded: the next start sends
    those (the SIGTERM test shows it), so they are not waited for here.
    """
    for process in cluster.processes:
        if process.name.startswith("beat"):
            process.stop(signal.SIGTERM)
    wait_for(
        lambda: not {"sent", "started"} & set(ledger().values()),
        timeout=300,  # a loaded CI machine runs a few dozen tasks a second
        what="the worker to finish every run published",
    )


def assert_delivered_once(allowed_twice=frozenset()):
    """Every run published reached a worker; none twice but ``allowed_twice``; the ledger
    agrees with what the workers executed (runs still recorded are the next start's to send)."""
    runs, done = ledger(), executed()
    published = {run_id for run_id, state in runs.items() if state != "recorded"}
    assert published, "no run was published"
    missing = published - set(done)
    assert not missing, f"{len(missing)} published run(s) never reached a worker"
    assert not {run_id for run_id, state in runs.items() if state == "recorded"} & set(done), (
        "a run still recorded was executed"
    )
    twice = {run_id for run_id, count in done.items() if count > 1}
    assert twice <= set(allowed_twice), f"{len(twice - set(allowed_twice))} run(s) executed twice"
    assert {state for run_id, state in ledger().items() if run_id in published} == {"succeeded"}


def test_sigterm_during_a_burst_loses_no_recorded_run(tmp_path):
    require(BROKERS["redis"], "redis")
    due_burst(3000)
    cluster = Cluster(BROKERS["redis"], tmp_path)
    try:
        cluster.start_worker(pool="threads", concurrency=8)
        beat = cluster.start_beat()
        beat.wait_log("Sending due task")
        beat.stop(signal.SIGTERM)  # a routine stop, mid-burst
        left = [run_id for run_id, state in ledger().items() if state == "recorded"]
        assert left, "SIGTERM landed after the burst: nothing was left to recover"
        assert len(ledger()) == 3000  # recorded as one batch, before the first publish
        cluster.start_beat("beat-again")  # the next start sends what was left, same ids
        wait_for(lambda: len(executed()) >= 3000, timeout=400, what="every recorded run to execute")
        stop_beats_and_drain(cluster)
    finally:
        cluster.stop_all()
    assert_delivered_once()


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_runs_recorded_by_a_leader_killed_during_a_broker_cut_reach_the_workers(tmp_path, broker):
    url = BROKERS[broker]
    require(url, broker)
    parsed = urlparse(url)
    proxy = CuttableProxy((parsed.hostname, parsed.port or {"redis": 6379, "rabbitmq": 5672}[broker]))
    proxied = url.replace(f":{parsed.port}", f":{proxy.port}")
    schedule = IntervalSchedule.objects.create(every=1, period="seconds")
    PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"t{i}", task="testproject.tasks.record_run", interval=schedule) for i in range(20)
    )
    cluster = Cluster(url, tmp_path)
    try:
        cluster.start_worker(pool="threads", concurrency=4)
        first = cluster.start_beat("beat-a", CELERY_BROKER_URL=proxied)
        wait_for(lambda: leader_pid() == first.popen.pid, what="beat-a to lead")
        cluster.start_beat("beat-b")  # standby, on the broker directly
        wait_for(lambda: len(executed()) >= 20, what="runs before the cut")
        proxy.cut()
        wait_for(lambda: list(ledger().values()).count("recorded") >= 40, timeout=20, what="runs recorded")
        attempted = set(first.log().split())  # ids beat-a tried to publish (a cut can swallow a reply)
        os.kill(first.popen.pid, signal.SIGKILL)  # between recording and publishing, for these runs
        wait_for(lambda: leader_pid() not in (None, first.popen.pid), timeout=LEASE + 5, what="a new leader")
        stranded = {run_id for run_id, state in ledger().items() if state == "recorded"}
        wait_for(lambda: stranded <= set(executed()), timeout=120, what="the stranded runs to arrive")
        stop_beats_and_drain(cluster)
    finally:
        cluster.stop_all()
        proxy.close()
    assert_delivered_once(allowed_twice=attempted)


def test_a_lease_that_runs_out_while_a_chunk_waits_on_a_row_lock_sends_nothing_twice(tmp_path):
    require(BROKERS["redis"], "redis")
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no row locks: a writer waits for the whole file (the outage tests cover it)")
    every = 20
    schedule = IntervalSchedule.objects.create(every=every, period="seconds")
    PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"t{i}", task="testproject.tasks.record_run", interval=schedule)
        for i in range(1100)
    )
    locked_pk = PeriodicTask.objects.order_by("pk").values_list("pk", flat=True)[1050]  # in the second chunk
    first_round = PeriodicTask.objects.latest("date_changed").date_changed + timedelta(seconds=every)
    cluster = Cluster(BROKERS["redis"], tmp_path)
    blocker = connections.create_connection("default")
    try:
        # An admin's transaction holds one task row from before the first round until the
        # lease of the beat recording that round has run out. Taken before any beat starts,
        # so a slow test process cannot miss the round.
        blocker.set_autocommit(False)
        with blocker.cursor() as cursor:
            cursor.execute(
                f"UPDATE {PeriodicTask._meta.db_table} SET description = 'held' WHERE id = %s", [locked_pk]
            )
        cluster.start_worker(pool="threads", concurrency=8)
        first = cluster.start_beat("beat-a")
        wait_for(lambda: leader_pid() == first.popen.pid, what="beat-a to lead")
        cluster.start_beat("beat-b")
        release_at = first_round + timedelta(seconds=LEASE + 3)
        time.sleep(max((release_at - timezone.now()).total_seconds(), 0))  # the fault itself
        # (the tasks' first runs are microseconds apart: a tick may record the early ones)
        locked_run = PeriodicTaskRun.objects.filter(task_id=locked_pk)
        assert not locked_run.exists(), "the locked task's run was recorded while its row was locked"
        blocker.rollback()
        wait_for(lambda: PeriodicTaskRun.objects.count() >= 1100, timeout=60, what="the first round")
        wait_for(lambda: "recorded" not in ledger().values(), timeout=60, what="the outbox to drain")
        wait_for(lambda: PeriodicTaskRun.objects.count() >= 2200, timeout=60, what="a round after the fault")
        wait_for(lambda: "recorded" not in ledger().values(), timeout=60, what="the outbox to drain again")
        stop_beats_and_drain(cluster)
    finally:
        cluster.stop_all()
        blocker.close()
    logs = "\n".join(process.log() for process in cluster.processes)
    faults = (
        "the lease ran out while runs were being recorded",  # a fenced statement changed no row
        "The lease may have run out",  # recorded, but this beat's own clock says the lease is gone
        "lost the lease while sending",
    )
    assert any(fault in logs for fault in faults), "the fault did not happen"
    assert_delivered_once()


def test_overlap_skip_never_runs_a_task_twice_at_once(tmp_path):
    require(BROKERS["redis"], "redis")
    schedule = IntervalSchedule.objects.create(every=1, period="seconds")
    task = PeriodicTask.objects.create(
        name="slow", task="testproject.tasks.record_slowly", kwargs={"seconds": 2.5}, interval=schedule,
        overlap="skip",
    )  # fmt: skip
    cluster = Cluster(BROKERS["redis"], tmp_path)
    try:
        cluster.start_worker(pool="threads", concurrency=4)
        cluster.start_beat()
        wait_for(lambda: PeriodicTaskRun.objects.filter(task=task, state="succeeded").count() >= 3,
                 timeout=40, what="three runs to finish")  # fmt: skip
    finally:
        cluster.stop_all()
    runs = list(PeriodicTaskRun.objects.filter(task=task).exclude(started_at=None).order_by("started_at"))
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at, (
            "two runs overlapped"
        )
    skipped = PeriodicTaskRun.objects.filter(task=task, state="skipped")
    assert skipped.count() >= 3 and all(run.reason.startswith("overlap") for run in skipped)
