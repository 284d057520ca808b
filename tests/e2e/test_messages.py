"""What reaches the broker: every option of a task, for beat's sends and for "run now".

A real ``celery beat`` publishes to Redis or RabbitMQ; the test reads the message
off the queue itself (no worker), so what it checks is what a worker would get.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery, current_app
from django.urls import reverse
from django.utils import timezone
from kombu import Connection, Exchange, Queue

from django_periodic.models import ClockedSchedule, IntervalSchedule, PeriodicTask, PeriodicTaskRun
from tests.support.processes import Cluster, wait_for
from tests.support.services import BROKERS, require

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

RECORD = "testproject.tasks.record_run"
TASKS = reverse("admin:django_periodic_periodictask_changelist")


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request):
    url = BROKERS[request.param]
    require(url, request.param)
    return url


@pytest.fixture
def names():
    """A queue, an exchange and a routing key of this test's own."""
    tag = uuid.uuid4().hex[:8]
    return {"queue": f"opts-{tag}", "exchange": f"opts-ex-{tag}", "routing_key": f"opts-rk-{tag}"}


@pytest.fixture
def broker(broker_url) -> Iterator[Any]:
    """A connection to the broker; queues declared through it are deleted afterwards."""
    with Connection(broker_url) as connection:
        declared: list[Queue] = []

        def declare(queue: Queue) -> Queue:
            bound = queue(connection.default_channel)
            bound.declare()
            declared.append(bound)
            return bound

        connection.declare = declare  # type: ignore[attr-defined]
        yield connection
        for queue in declared:
            queue.delete()
            if queue.exchange.name:
                queue.exchange.delete()


def next_message(queue: Queue, what: str) -> Any:
    message = wait_for(lambda: queue.get(no_ack=True), timeout=60, what=what)
    return message


def assert_every_option(message: Any, names: dict[str, str], run: PeriodicTaskRun) -> None:
    headers = message.headers
    assert headers["id"] == run.celery_task_id
    assert headers["task"] == RECORD
    assert headers["periodic_task_name"] == "all options" and headers["tenant"] == "acme"
    assert headers["expires"] is not None  # expire_seconds became the message's expiry
    assert headers["timelimit"] == [60, 50]  # from the options column
    assert message.properties["priority"] == 5
    delivery = message.delivery_info
    assert (delivery["exchange"], delivery["routing_key"]) == (names["exchange"], names["routing_key"])
    args, kwargs, _embed = message.decode()
    assert (args, kwargs) == ([1, "two"], {"k": "v"})


def all_options_task(names: dict[str, str], schedule: Any) -> PeriodicTask:
    return PeriodicTask.objects.create(
        name="all options",
        task=RECORD,
        clocked=schedule,
        one_off=True,
        args=[1, "two"],
        kwargs={"k": "v"},
        priority=5,
        expire_seconds=300,
        headers={"tenant": "acme"},
        options={"time_limit": 60, "soft_time_limit": 50},
        **names,
    )


@pytest.fixture
def run_now_app(broker_url) -> Iterator[Celery]:
    """The web process's Celery app, on the real broker ("run now" sends through current_app)."""
    app = Celery("tests-run-now", set_as_current=False)
    app.conf.update(broker_url=broker_url, result_backend=None, task_default_queue="tests")
    previous = current_app._get_current_object()
    app.set_default()
    app.set_current()
    try:
        yield app
    finally:
        previous.set_default()
        previous.set_current()
        app.close()


def test_every_option_reaches_the_broker_from_beat_and_from_run_now(
    broker_url, broker, names, tmp_path, admin_client, run_now_app
):
    queue = broker.declare(
        Queue(names["queue"], Exchange(names["exchange"], "direct"), routing_key=names["routing_key"])
    )
    task = all_options_task(names, ClockedSchedule.objects.create(clocked_time=timezone.now()))
    cluster = Cluster(broker_url, tmp_path)
    try:
        cluster.start_beat()
        message = next_message(queue, "beat's message")
    finally:
        cluster.stop_all()
    assert_every_option(message, names, PeriodicTaskRun.objects.get(task=task, trigger="schedule"))

    admin_client.post(TASKS, {"action": "run_tasks_now", "_selected_action": [task.pk]}, follow=True)
    message = next_message(queue, "the run-now message")
    assert_every_option(message, names, PeriodicTaskRun.objects.get(task=task, trigger="run_now"))


def test_with_no_queue_set_celerys_task_routes_apply(broker_url, broker, tmp_path):
    routed = broker.declare(Queue(f"routed-{uuid.uuid4().hex[:8]}"))
    every_second = IntervalSchedule.objects.create(every=1, period="seconds")
    PeriodicTask.objects.create(name="routed", task=RECORD, interval=every_second)
    routes = {RECORD: {"queue": routed.name}}
    cluster = Cluster(broker_url, tmp_path, {"TESTPROJECT_TASK_ROUTES": json.dumps(routes)})
    try:
        cluster.start_beat()
        message = next_message(routed, "a message on the routed queue")
    finally:
        cluster.stop_all()
    assert message.headers["periodic_task_name"] == "routed"
    assert message.delivery_info["routing_key"] == routed.name


def test_a_task_beat_does_not_import_is_sent_by_name(broker_url, broker, names, tmp_path):
    queue = broker.declare(Queue(names["queue"]))
    when = ClockedSchedule.objects.create(clocked_time=timezone.now())
    task = PeriodicTask.objects.create(
        name="remote", task="only.on.workers", clocked=when, one_off=True, queue=names["queue"]
    )
    cluster = Cluster(broker_url, tmp_path)
    try:
        cluster.start_beat()
        message = next_message(queue, "the message sent by name")
    finally:
        cluster.stop_all()
    run = PeriodicTaskRun.objects.get(task=task)
    assert (message.headers["task"], message.headers["id"]) == ("only.on.workers", run.celery_task_id)
    assert message.headers["periodic_task_name"] == "remote"
