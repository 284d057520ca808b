"""End to end: real ``celery beat -S django`` and ``celery worker`` processes.

Runs against the database the suite runs on (SQLite, PostgreSQL or MariaDB) and
each broker: Redis, RabbitMQ and the filesystem transport the demo uses.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from django_periodic.beat.publish import run_task_id
from django_periodic.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTaskRun,
)
from testproject.models import TaskRun
from tests.support.processes import CELERY, Cluster, wait_for
from tests.support.services import BROKERS, require

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

RECORD = "testproject.tasks.record_run"


@pytest.fixture(params=["redis", "rabbitmq", "filesystem"])
def broker_url(request):
    if request.param == "filesystem":
        return "filesystem://"
    url = BROKERS[request.param]
    require(url, request.param)
    return url


@pytest.fixture
def cluster(broker_url, tmp_path, request):
    code_schedule = {
        "from-code": {"task": RECORD, "schedule": 1.0, "args": ["code"], "options": {"priority": 4}}
    }
    made = Cluster(broker_url, tmp_path, {"TESTPROJECT_BEAT_SCHEDULE": json.dumps(code_schedule)})
    yield made
    made.stop_all()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(made.logs())


def runs(name):
    return TaskRun.objects.filter(periodic_task_name=name)


def test_schedules_edits_and_restart(cluster):
    every_second = IntervalSchedule.objects.create(every=1, period="seconds")
    PeriodicTask.objects.create(
        name="every-second",
        task=RECORD,
        interval=every_second,
        args=[1],
        kwargs={"k": "v"},
        headers={"h": "x"},
    )
    # stays enabled throughout: its runs mark how far beat has got, and it crosses the restart
    PeriodicTask.objects.create(name="control", task=RECORD, interval=every_second, args=["control"])
    cluster.start_worker()
    beat = cluster.start_beat()
    try:
        wait_for(lambda: runs("every-second").count() >= 2, what="two interval runs")
        wait_for(lambda: runs("from-code").exists(), what="the code-defined task")
        assert PeriodicTask.objects.get(name="from-code").defined_in_code

        # create: a clocked one-off due now
        when = ClockedSchedule.objects.create(clocked_time=timezone.now())
        PeriodicTask.objects.create(name="one-off", task=RECORD, clocked=when, one_off=True)
        wait_for(lambda: runs("one-off").exists(), what="the one-off")

        # edit
        task = PeriodicTask.objects.get(name="every-second")
        task.args = ["edited"]
        task.save()
        wait_for(lambda: runs("every-second").filter(args=["edited"]).exists(), what="the edit")

        # disable, then delete: no run scheduled after the write is sent
        PeriodicTask.objects.filter(name="every-second").update(enabled=False)
        disabled_at = timezone.now()
        control_received_after(disabled_at)
        assert_nothing_scheduled_after("every-second", disabled_at)
        PeriodicTask.objects.filter(name="from-code").delete()
        deleted_at = timezone.now()
        control_received_after(deleted_at)
        assert_nothing_scheduled_after("from-code", deleted_at)
    finally:
        assert beat.stop() == 0, beat.log()[-3000:]

    # restart: the control task kept its run state; no slot of it is sent twice
    stopped_at = timezone.now()
    beat = cluster.start_beat("beat-again")
    wait_for(
        lambda: runs("control").filter(task_id__in=slot_ids("control", stopped_at)).count() >= 2,
        what="control runs after the restart",
    )
    beat.stop()
    ids = Counter(TaskRun.objects.values_list("task_id", flat=True))
    assert max(ids.values()) == 1, "a run was received twice"
    slots = Counter(
        PeriodicTaskRun.objects.filter(task_name="control").values_list("scheduled_at", flat=True)
    )
    assert max(slots.values()) == 1, "a slot was recorded twice"
    assert runs("one-off").count() == 1
    one_off = PeriodicTask.objects.get(name="one-off")
    assert (one_off.enabled, one_off.total_run_count) == (False, 1)
    # options and headers reached the worker
    first = runs("every-second").first()
    assert first.kwargs == {"k": "v"}
    # every recorded run arrives (the worker may still be reading the last ones), except a
    # run SIGTERM caught between recording and publishing: the ledger keeps it for the next start
    recorded = PeriodicTask.objects.get(name="control").total_run_count
    outbox = PeriodicTaskRun.objects.filter(task_name="control", state="recorded").count()
    wait_for(lambda: runs("control").count() >= recorded - outbox, timeout=30, what="the recorded runs")
    assert runs("control").count() == recorded - outbox


def slot_ids(name, after):
    """Task ids of the runs of ``name`` the ledger scheduled after ``after``."""
    scheduled = PeriodicTaskRun.objects.filter(task_name=name, scheduled_at__gt=after)
    return list(scheduled.values_list("celery_task_id", flat=True))


def control_received_after(instant):
    """Wait until the worker has a control run scheduled more than a second after ``instant``.

    Beat has then ticked past ``instant``, and the (solo, first-in first-out) worker has
    taken every message published before that run.
    """
    later = instant + timedelta(seconds=1)
    wait_for(
        lambda: runs("control").filter(task_id__in=slot_ids("control", later)).exists(),
        timeout=30,
        what="a control run after the write",
    )


def assert_nothing_scheduled_after(name, instant):
    assert slot_ids(name, instant) == [], f"{name} was recorded for a slot after it was disabled or deleted"
    arrived = set(runs(name).values_list("task_id", flat=True))
    assert not arrived & set(slot_ids(name, instant))
    before = set(PeriodicTaskRun.objects.filter(task_name=name).values_list("celery_task_id", flat=True))
    assert arrived <= before, f"{name}: a run arrived that the ledger never recorded"


def test_crontab_in_a_non_utc_zone_fires_at_its_local_minute(broker_url, tmp_path):
    # Beat's clock is shifted so its next minute boundary comes within seconds; the
    # crontab is created once beat runs, for that boundary read in Asia/Kolkata.
    kolkata = ZoneInfo("Asia/Kolkata")
    real = datetime.now(UTC)
    offset = (real.replace(second=0, microsecond=0) + timedelta(minutes=1) - real).total_seconds() - 20
    cluster = Cluster(broker_url, tmp_path, {"TESTPROJECT_CLOCK_OFFSET": str(offset)})
    try:
        cluster.start_worker()
        cluster.start_beat()
        shifted_now = datetime.now(UTC) + timedelta(seconds=offset)
        boundary = shifted_now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if (boundary - shifted_now).total_seconds() < 3:
            boundary += timedelta(minutes=1)
        local = boundary.astimezone(kolkata)
        cron = CrontabSchedule.objects.create(
            minute=str(local.minute), hour=str(local.hour), timezone="Asia/Kolkata"
        )
        PeriodicTask.objects.create(name="kolkata", task=RECORD, crontab=cron)
        wait_for(lambda: runs("kolkata").exists(), timeout=90, what="the crontab run")
        task = PeriodicTask.objects.get(name="kolkata")
        # the run's identity is its slot: the boundary read in Asia/Kolkata, exactly
        assert list(runs("kolkata").values_list("task_id", flat=True)) == [run_task_id(task.pk, boundary)]
    finally:
        cluster.stop_all()


def test_sigterm_stops_beat_quickly_with_state_written(cluster):
    every_second = IntervalSchedule.objects.create(every=1, period="seconds")
    PeriodicTask.objects.create(name="tick", task=RECORD, interval=every_second)
    cluster.start_worker()
    beat = cluster.start_beat()
    wait_for(lambda: runs("tick").exists(), what="a run")
    started = time.monotonic()
    # a clean exit (code 0) within Process.stop's 15 s, else it is killed and the code differs;
    # how fast is measured, not asserted (0.2-0.4 s here)
    assert beat.stop(signal.SIGTERM) == 0
    print(f"beat stopped {time.monotonic() - started:.2f}s after SIGTERM")
    sent = beat.log().count("Sending due task tick ")
    assert PeriodicTask.objects.get(name="tick").total_run_count == sent


def test_worker_with_embedded_beat(broker_url, tmp_path):
    every_second = IntervalSchedule.objects.create(every=1, period="seconds")
    PeriodicTask.objects.create(name="embedded", task=RECORD, interval=every_second)
    cluster = Cluster(broker_url, tmp_path)
    worker = cluster._start("worker-embedded", [
        *CELERY, "worker", "-B", "--scheduler", "django_periodic", "-P", "solo", "-Q", cluster.queue,
        "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info",
        "-n", f"{cluster.queue}@%h", "--schedule", str(tmp_path / "beat-schedule"),
    ])  # fmt: skip
    try:
        try:
            wait_for(lambda: runs("embedded").count() >= 2, timeout=45, what="runs from the embedded beat")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{worker.log()[-4000:]}") from None
    finally:
        cluster.stop_all()
    assert "is now the leader" in worker.log()


def test_a_task_only_the_worker_imports_is_sent_by_name_and_its_outcome_recorded(tmp_path):
    require(BROKERS["redis"], "redis")
    when = ClockedSchedule.objects.create(clocked_time=timezone.now())
    task = PeriodicTask.objects.create(
        name="worker-only", task="testproject.worker_only.record", clocked=when, one_off=True
    )
    cluster = Cluster(BROKERS["redis"], tmp_path)
    try:
        cluster.start_worker(include="testproject.worker_only")
        cluster.start_beat()
        wait_for(
            lambda: PeriodicTaskRun.objects.filter(task=task, state="succeeded").exists(),
            timeout=60,
            what="the outcome of the run sent by name",
        )
    finally:
        cluster.stop_all()
    run = PeriodicTaskRun.objects.get(task=task)
    assert list(runs("worker-only").values_list("task_id", flat=True)) == [run.celery_task_id]
    assert run.started_at is not None and run.worker
