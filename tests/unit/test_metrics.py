"""Beat's Prometheus metrics: the no-op default, the counters and gauges, the start errors."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from prometheus_client import CollectorRegistry

from django_periodic import checks
from django_periodic.beat import metrics


def value(registry, name, **labels):
    return registry.get_sample_value(name, labels or None)


def test_the_default_hooks_do_nothing_and_report_disabled():
    off = metrics.Metrics()
    slot = datetime(2026, 6, 1, tzinfo=UTC)
    assert off.enabled is False
    assert off.sent("t", slot, slot) is None and off.ticked(True, 3, 1, 1) is None
    assert isinstance(metrics.active, metrics.Metrics) and not metrics.active.enabled


def test_counters_and_lag_by_task():
    registry = CollectorRegistry()
    on = metrics.PrometheusMetrics(registry)
    slot = datetime(2026, 6, 1, 12, tzinfo=UTC)
    on.sent("report", slot, slot + timedelta(seconds=0.3))
    on.sent("report", slot, slot + timedelta(seconds=12))
    on.sent("other", slot, slot - timedelta(seconds=1))  # a jittered send: no negative lag
    on.skipped("report", metrics.SKIPPED_OVERLAP)
    on.not_sent("other", metrics.NOT_SENT_EXPIRED)
    on.broker_retry()
    on.broker_retry()
    assert value(registry, "django_periodic_runs_sent_total", task="report") == 2
    assert value(registry, "django_periodic_runs_sent_total", task="other") == 1
    assert value(registry, "django_periodic_runs_skipped_total", task="report", reason="overlap") == 1
    assert value(registry, "django_periodic_runs_not_sent_total", task="other", reason="expired") == 1
    assert value(registry, "django_periodic_broker_retries_total") == 2
    assert value(registry, "django_periodic_send_lag_seconds_count") == 3
    assert value(registry, "django_periodic_send_lag_seconds_sum") == pytest.approx(12.3)
    assert value(registry, "django_periodic_send_lag_seconds_bucket", le="0.5") == 2


def test_tick_gauges_move_the_poll_times_only_when_beat_polled():
    registry = CollectorRegistry()
    wall = iter([100.0, 105.0, 110.0])
    on = metrics.PrometheusMetrics(registry, wall=lambda: next(wall))
    on.ticked(leader=True, tasks=7, polls=0, full_reads=1)
    assert value(registry, "django_periodic_leader") == 1
    assert value(registry, "django_periodic_tasks_loaded") == 7
    assert value(registry, "django_periodic_last_full_read_timestamp_seconds") == 100.0
    assert value(registry, "django_periodic_last_poll_timestamp_seconds") == 100.0
    on.ticked(leader=True, tasks=7, polls=1, full_reads=1)
    assert value(registry, "django_periodic_last_poll_timestamp_seconds") == 105.0
    assert value(registry, "django_periodic_last_full_read_timestamp_seconds") == 100.0
    on.ticked(leader=False, tasks=0, polls=1, full_reads=1)
    assert value(registry, "django_periodic_leader") == 0
    assert value(registry, "django_periodic_last_poll_timestamp_seconds") == 105.0
    assert value(registry, "django_periodic_last_tick_timestamp_seconds") == 110.0


@pytest.mark.parametrize("port", [0, 70000, "9808", True])
def test_a_port_that_is_not_one_is_refused(port):
    with pytest.raises(ImproperlyConfigured, match="METRICS_PORT"):
        metrics.serve(port, "127.0.0.1")


def test_without_prometheus_client_beat_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import raises ImportError
    with pytest.raises(ImproperlyConfigured, match=r"django-periodic\[metrics\]"):
        metrics.serve(9808, "127.0.0.1")


def test_system_checks_for_the_metrics_settings(settings, monkeypatch):
    settings.DJANGO_PERIODIC = {}
    assert checks.check_metrics() == []
    settings.DJANGO_PERIODIC = {"METRICS_PORT": "http"}
    assert [m.id for m in checks.check_metrics()] == ["django_periodic.E011"]
    settings.DJANGO_PERIODIC = {"METRICS_PORT": 9808}
    assert checks.check_metrics() == []
    monkeypatch.setattr(checks.importlib.util, "find_spec", lambda name: None)
    found = checks.check_metrics()
    assert [m.id for m in found] == ["django_periodic.E010"]
    assert "django-periodic[metrics]" in found[0].hint
