"""What beat tells the outside after each tick: its heartbeat file and its gauges.

One call per tick from the scheduler (:meth:`Monitor.ticked`); neither writes to the
database. The counters (runs sent, skipped, not sent, broker retries) are reported where
those things happen, through :data:`.metrics.active`.
"""

from __future__ import annotations

from typing import Any

from ..conf import app_settings
from ..heartbeat import Heartbeat, heartbeat_dir
from . import metrics


class Monitor:
    """The heartbeat file and the metrics of one scheduler."""

    def __init__(self, lease_name: str) -> None:
        self.lease_name = lease_name
        self.directory = heartbeat_dir(app_settings.HEARTBEAT_DIR)
        self.heartbeat: Heartbeat | None = None
        if app_settings.METRICS_PORT is not None:
            # at beat start, before it takes the lease: a misconfiguration ends it here
            metrics.serve(app_settings.METRICS_PORT, app_settings.METRICS_ADDRESS)

    def ticked(self, scheduler: Any, wait: float) -> float:
        """A tick of ``scheduler`` ended; the next starts in ``wait`` seconds (returned)."""
        leader = scheduler.lease.is_leader
        if self.heartbeat is None:
            self.heartbeat = Heartbeat(self.directory, self.lease_name, float(scheduler.max_interval))
        self.heartbeat.beat(leader, wait)
        stats = scheduler.stats
        metrics.active.ticked(leader, len(scheduler.plans), stats["polls"], stats["full_loads"])
        return wait
