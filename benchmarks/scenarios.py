"""The scenarios, in the order one beat process lives them (see dataset.py for the timeline).

Each returns a dict of figures. Statements are counted by ``QueryCounter``
(reads = SELECT, writes = INSERT/UPDATE/DELETE); the statements of the edit
itself (the admin's) are not counted, only the scheduler's.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import dataset
from probes import QueryCounter, RowCounter, Stopwatch, peak_rss_mib, reset_peak_rss, rss_mib

Profiled = Callable[[str], contextlib.AbstractContextManager[Any]]


@contextlib.contextmanager
def _unprofiled(name: str) -> Iterator[None]:
    yield


def startup(
    adapter: Any, app: Any, counter: QueryCounter, profiled: Profiled = _unprofiled
) -> tuple[Any, dict]:
    """Construct the scheduler (it reads the schedule) and run its first tick."""
    reset_peak_rss()
    base = rss_mib()
    before = counter.snapshot()
    watch = Stopwatch()
    with profiled("startup"), watch.timing():
        scheduler = adapter.scheduler(app)
        scheduler.tick()
    return scheduler, {
        "seconds": watch.seconds,
        "cpu": watch.cpu,
        "peak_mib": peak_rss_mib() - base,
        "rss_mib": rss_mib() - base,
        **counter.since(before),
    }


def idle(
    adapter: Any,
    scheduler: Any,
    counter: QueryCounter,
    window: float,
    startup_cpu: float,
    profiled: Profiled = _unprofiled,
) -> dict:
    """Nothing due: tick in real time for ``window`` seconds, sleeping what tick() asks.

    CPU and queries are scaled to a minute. ``cpu_per_min_with_reloads`` adds the
    periodic full read each implementation does while nothing changes (every 5
    minutes in django-celery-beat, every hour in django-periodic), costed as the
    start-up's CPU.
    """
    adapter.set_clock(dataset.T0, running=True)
    before = counter.snapshot()
    watch = Stopwatch()
    ticks = 0
    with watch.timing():
        end = time.perf_counter() + window
        while True:
            with profiled("idle"):
                wait = scheduler.tick()
            ticks += 1
            remaining = end - time.perf_counter()
            if remaining <= 0:
                break
            time.sleep(min(max(wait, 0.0), remaining))
    per_min = 60.0 / watch.seconds
    queries = counter.since(before)
    cpu_per_min = watch.cpu * per_min
    return {
        "window_s": watch.seconds,
        "ticks_per_min": ticks * per_min,
        "cpu_per_min": cpu_per_min,
        "cpu_per_min_with_reloads": cpu_per_min + startup_cpu * 60.0 / adapter.reload_period(),
        "reload_period_s": adapter.reload_period(),
        "queries_per_min": queries["queries"] * per_min,
        "reads_per_min": queries["reads"] * per_min,
        "writes_per_min": queries["writes"] * per_min,
        "other_per_min": queries["other"] * per_min,
    }


def edit(
    adapter: Any,
    scheduler: Any,
    counter: QueryCounter,
    rows: RowCounter,
    timeout: float = 60.0,
    profiled: Profiled = _unprofiled,
) -> dict:
    """Change one task's args just after a tick that returned its longest sleep.

    That is the slowest moment for an edit to land: the scheduler sleeps as long
    as it ever does before it looks again. ``effect_s`` runs from the edit's
    commit to the end of the tick after which the scheduler holds the new args.
    """
    adapter.set_clock(dataset.T_EDIT, running=True)
    scheduler.tick()  # whatever the jump in time triggers (a reload) is not the edit's
    wait = scheduler.tick()
    waits = [wait]
    watching = time.perf_counter() + 3.0
    while time.perf_counter() < watching:  # learn the longest sleep of this scheduler
        time.sleep(max(wait, 0.0))
        wait = scheduler.tick()
        waits.append(wait)
    while wait < 0.9 * max(waits):
        time.sleep(max(wait, 0.0))
        wait = scheduler.tick()
    marker = ["edited", random.randrange(10**9)]
    adapter.edit(marker)
    edited = time.perf_counter()
    ticks = 0
    while time.perf_counter() - edited < timeout:
        time.sleep(max(wait, 0.0))
        before = counter.snapshot()
        rows.rows = 0
        watch = Stopwatch()
        with profiled("edit"), rows.counting(), watch.timing():
            wait = scheduler.tick()
        ticks += 1
        if adapter.applied(scheduler, marker):
            return {
                "effect_s": time.perf_counter() - edited,
                "work_ms": watch.seconds * 1000,
                "cpu_ms": watch.cpu * 1000,
                "rows_read": rows.rows,
                "ticks": ticks,
                **counter.since(before),
            }
    return {"effect_s": None, "ticks": ticks, "error": f"edit not applied within {timeout:g}s"}


def drain(
    adapter: Any,
    scheduler: Any,
    counter: QueryCounter,
    at: Any,
    expected: int,
    cap: float,
    name: str,
    profiled: Profiled = _unprofiled,
) -> dict:
    """``expected`` runs fall due at ``at``: tick until all are sent (or ``cap`` seconds).

    The clock is frozen at ``at``. Afterwards the implementation writes any run
    state it still holds (``flush``), and every statement from the first send to
    the end of that write is counted. A drain cut short by ``cap`` is
    extrapolated at the rate it kept (``extrapolated`` is then true).
    """
    adapter.set_clock(at - timedelta(seconds=1), running=False)
    scheduler.tick()  # a reload the jump in time triggers is not the burst's
    adapter.set_clock(at, running=False)
    sent_before = scheduler.sent
    before = counter.snapshot()
    watch = Stopwatch()
    stalled = False
    with profiled(name), watch.timing():
        started = time.perf_counter()
        while scheduler.sent - sent_before < expected:
            progress = scheduler.sent
            wait = scheduler.tick()
            if wait > 0 and scheduler.sent == progress:
                stalled = True  # nothing more is due: fewer runs than expected
                break
            if time.perf_counter() - started > cap:
                break
    flush = Stopwatch()
    with flush.timing():
        adapter.flush(scheduler)
    queries = counter.since(before)
    sent = scheduler.sent - sent_before
    rate = sent / watch.seconds if watch.seconds else 0.0
    drained = sent >= expected
    scale = expected / sent if sent and not drained else 1.0
    return {
        "expected": expected,
        "sent": sent,
        "drained": drained,
        "stalled": stalled,
        "extrapolated": not drained and sent > 0,
        "seconds": watch.seconds * scale,
        "measured_s": watch.seconds,
        "cpu": watch.cpu,
        "rate": rate,
        "flush_s": flush.seconds,
        "writes": round(queries["writes"] * scale),
        "reads": round(queries["reads"] * scale),
        "queries": round(queries["queries"] * scale),
        "writes_per_1000": queries["writes"] * 1000 / sent if sent else None,
        "queries_per_1000": queries["queries"] * 1000 / sent if sent else None,
    }


def ceiling(app: Any, count: int, profiled: Profiled = _unprofiled) -> dict:
    """Celery's own ``send_task`` rate to the same broker, from this process, one producer."""
    with app.producer_or_acquire() as producer:
        for i in range(50):  # warm up: connection, routing caches
            app.send_task(dataset.TASK, [i], {"tenant": 1}, producer=producer)
        watch = Stopwatch()
        with profiled("ceiling"), watch.timing():
            for i in range(count):
                app.send_task(
                    dataset.TASK,
                    [i],
                    {"tenant": i % 100},
                    producer=producer,
                    headers={"periodic_task_name": f"bench-{i:07d}"},
                )
    return {"sent": count, "seconds": watch.seconds, "rate": count / watch.seconds}
