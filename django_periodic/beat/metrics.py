"""Prometheus metrics of a beat process (the ``metrics`` extra: prometheus-client).

Beat's modules report through :data:`active`, which is a :class:`Metrics` whose hooks
do nothing until :func:`serve` (called at beat start when the ``METRICS_PORT`` setting
is set) swaps in :class:`PrometheusMetrics`: with metrics off, the send path pays one
empty method call per run. docs/operations.md lists the metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

#: The label values of the skipped and not-sent counters.
SKIPPED_OVERLAP, SKIPPED_MISSED = "overlap", "missed"
NOT_SENT_UNSENDABLE, NOT_SENT_EXPIRED, NOT_SENT_DELETED = "unsendable", "expired", "deleted"

#: Send lag buckets, in seconds: a tick's resolution up to a catch-up after an outage.
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


def missing_extra_message() -> str:
    """What beat and the system check say when metrics are on but prometheus-client is missing."""
    return _(
        "DJANGO_PERIODIC['METRICS_PORT'] is set, but prometheus-client is not installed: install the "
        "metrics extra (pip install 'django-periodic[metrics]'), or set METRICS_PORT to None."
    )


class Metrics:
    """The default: every hook does nothing (metrics are off)."""

    enabled = False

    def sent(self, task: str, slot: datetime, now: datetime) -> None:
        """A run of ``task`` scheduled for ``slot`` was published at ``now``."""

    def skipped(self, task: str, reason: str) -> None:
        """A run of ``task`` was skipped (``reason``: overlap or missed)."""

    def not_sent(self, task: str, reason: str) -> None:
        """A recorded run of ``task`` was marked *not sent* (unsendable, expired, deleted)."""

    def broker_retry(self) -> None:
        """A run was kept for another try after a broker error."""

    def ticked(self, leader: bool, tasks: int, polls: int, full_reads: int) -> None:
        """A tick ended: whether this process leads, the tasks loaded, the poll counters."""


class PrometheusMetrics(Metrics):
    """The metrics, registered in ``registry`` (a ``prometheus_client.CollectorRegistry``)."""

    enabled = True

    def __init__(self, registry: Any, wall: Callable[[], float] = time.time) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.wall = wall
        prefix = "django_periodic_"
        self.runs_sent = Counter(
            prefix + "runs_sent", "Runs published to the broker", ["task"], registry=registry
        )
        self.runs_skipped = Counter(
            prefix + "runs_skipped", "Runs skipped by the overlap or missed-run policy", ["task", "reason"],
            registry=registry,
        )  # fmt: skip
        self.runs_not_sent = Counter(
            prefix + "runs_not_sent", "Recorded runs marked not sent", ["task", "reason"], registry=registry
        )
        self.send_lag = Histogram(
            prefix + "send_lag_seconds", "Seconds from a run's scheduled time to its publish",
            buckets=LAG_BUCKETS, registry=registry,
        )  # fmt: skip
        self.broker_retries = Counter(
            prefix + "broker_retries", "Runs kept for another try after a broker error", registry=registry
        )
        self.leader = Gauge(prefix + "leader", "1 while this beat process holds the lease", registry=registry)
        self.tasks_loaded = Gauge(
            prefix + "tasks_loaded", "Periodic tasks in beat's schedule", registry=registry
        )
        self.last_tick = Gauge(
            prefix + "last_tick_timestamp_seconds", "When beat last ended a tick", registry=registry
        )
        self.last_poll = Gauge(
            prefix + "last_poll_timestamp_seconds",
            "When beat last read the change counter",
            registry=registry,
        )
        self.last_full_read = Gauge(
            prefix + "last_full_read_timestamp_seconds", "When beat last read every task", registry=registry
        )
        self._sent: dict[str, Any] = {}
        self._polls = 0
        self._full_reads = 0

    def sent(self, task: str, slot: datetime, now: datetime) -> None:
        counter = self._sent.get(task)
        if counter is None:  # labels() costs more than the increment: once per task
            counter = self._sent[task] = self.runs_sent.labels(task)
        counter.inc()
        self.send_lag.observe(max((now - slot).total_seconds(), 0.0))

    def skipped(self, task: str, reason: str) -> None:
        self.runs_skipped.labels(task, reason).inc()

    def not_sent(self, task: str, reason: str) -> None:
        self.runs_not_sent.labels(task, reason).inc()

    def broker_retry(self) -> None:
        self.broker_retries.inc()

    def ticked(self, leader: bool, tasks: int, polls: int, full_reads: int) -> None:
        now = self.wall()
        self.leader.set(1 if leader else 0)
        self.tasks_loaded.set(tasks)
        self.last_tick.set(now)
        if full_reads != self._full_reads:
            self._full_reads = full_reads
            self.last_full_read.set(now)
            self.last_poll.set(now)  # a full read reads the change counter too
        if polls != self._polls:
            self._polls = polls
            self.last_poll.set(now)


#: The metrics beat reports to: the no-op default until :func:`serve` runs.
active: Metrics = Metrics()

_served: dict[tuple[str, int], PrometheusMetrics] = {}
_lock = threading.Lock()


def serve(port: Any, address: str) -> Metrics:
    """Serve ``/metrics`` on ``address``:``port`` (once per process) and report there from now on.

    Raises ImproperlyConfigured when prometheus-client is missing or the port is not one.
    """
    global active
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ImproperlyConfigured(
            _(
                "DJANGO_PERIODIC['METRICS_PORT'] is %(port)r: set it to a TCP port number (1-65535), "
                "or to None to turn metrics off."
            )
            % {"port": port}
        )
    try:
        from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
    except ImportError as exc:
        raise ImproperlyConfigured(missing_extra_message()) from exc
    with _lock:
        metrics = _served.get((address, port))
        if metrics is None:
            registry = CollectorRegistry()
            ProcessCollector(registry=registry)
            metrics = PrometheusMetrics(registry)
            try:
                start_http_server(port, addr=address, registry=registry)
            except OSError as exc:
                raise ImproperlyConfigured(
                    _(
                        "Beat could not serve metrics on %(address)s:%(port)s (the METRICS_ADDRESS and "
                        "METRICS_PORT keys of DJANGO_PERIODIC): %(error)s. Pick a free port."
                    )
                    % {"address": address, "port": port, "error": exc}
                ) from exc
            _served[(address, port)] = metrics
        active = metrics
    return metrics
