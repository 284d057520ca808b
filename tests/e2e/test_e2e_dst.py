"""A real beat process whose clock runs fast across the DST transitions of Europe/Berlin.

Beat's clock (testproject/clock.py) starts just before the transition and runs
240 times faster than real time. Each run's Celery task id is derived from its
scheduled instant, so the runs the worker received say exactly which instants
beat chose: they must be the ones the README's "Time" section promises.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from django_periodic.beat.publish import run_task_id
from django_periodic.models import CrontabSchedule, PeriodicTask, PeriodicTaskRun
from testproject.models import TaskRun
from tests.support.processes import Cluster, wait_for
from tests.support.services import BROKERS, require

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECORD = "testproject.tasks.record_run"
SPEED = 240  # four clock minutes per real second


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def expected_ids(task, instants):
    return {run_task_id(task.pk, instant) for instant in instants}


@pytest.mark.parametrize(
    ("start", "until", "restricted", "every_hour"),
    [
        # spring forward, 2027-03-28: 02:00 CET jumps to 03:00 CEST (01:00 UTC)
        (
            utc(2027, 3, 28, 0, 50),
            utc(2027, 3, 28, 2, 40),
            [utc(2027, 3, 28, 1, 0)],  # "30 2": inside the gap, runs once at 03:00 CEST
            [utc(2027, 3, 28, 1, 30), utc(2027, 3, 28, 2, 30)],
        ),  # "30 *": 03:30, 04:30 CEST
        # fall back, 2026-10-25: 03:00 CEST goes back to 02:00 CET (01:00 UTC)
        (
            utc(2026, 10, 24, 23, 50),
            utc(2026, 10, 25, 2, 40),
            [utc(2026, 10, 25, 0, 30)],  # "30 2": first occurrence only
            [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 2, 30)],
        ),
    ],
    ids=["spring-gap", "autumn-fold"],
)
def test_beat_across_a_dst_transition(tmp_path, start, until, restricted, every_hour):
    require(BROKERS["redis"], "redis")
    berlin = {"timezone": "Europe/Berlin"}
    nightly = PeriodicTask.objects.create(
        name="nightly", task=RECORD, crontab=CrontabSchedule.objects.create(minute="30", hour="2", **berlin)
    )
    hourly = PeriodicTask.objects.create(
        name="hourly", task=RECORD, crontab=CrontabSchedule.objects.create(minute="30", hour="*", **berlin)
    )
    cluster = Cluster(
        BROKERS["redis"],
        tmp_path,
        {
            "TESTPROJECT_CLOCK_START": start.isoformat(),
            "TESTPROJECT_CLOCK_SPEED": str(SPEED),
            # beat wakes at least every 0.1 s real time = 24 s of its clock
            "DJANGO_PERIODIC_POLL_INTERVAL": "0.1",
        },
    )
    try:
        cluster.start_worker()
        cluster.start_beat()
        real_seconds = (until - start).total_seconds() / SPEED
        wanted = expected_ids(nightly, restricted) | expected_ids(hourly, every_hour)
        wait_for(
            lambda: wanted <= set(TaskRun.objects.values_list("task_id", flat=True)),
            timeout=real_seconds + 20,
            what="the runs around the transition",
        )
    finally:
        cluster.stop_all()
    received = list(TaskRun.objects.values_list("task_id", flat=True))
    assert len(received) == len(set(received)), "a run arrived twice"
    # Beat's fast clock runs on past ``until`` until it is stopped: judge the window only,
    # by the scheduled instants the ledger recorded, not by when the test stopped beat.
    recorded = dict(PeriodicTaskRun.objects.values_list("celery_task_id", "scheduled_at"))
    in_window = {run_id for run_id, scheduled in recorded.items() if scheduled <= until}
    assert in_window == wanted, "beat sent runs at other instants than the rules give"
    assert set(received) <= set(recorded), "a run arrived that the ledger never recorded"
