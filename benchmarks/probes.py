"""Measuring instruments: a query counter, a row counter, memory, and a fake clock."""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass
class QueryCounter:
    """Counts SQL statements by kind; installed with ``connection.execute_wrapper``.

    ``reads`` are SELECTs, ``writes`` are INSERT / UPDATE / DELETE / COPY, ``other`` is the
    rest (BEGIN, SAVEPOINT, SET ...). ``executemany`` counts as one statement.
    """

    reads: int = 0
    writes: int = 0
    other: int = 0
    samples: list[str] = field(default_factory=list)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.lstrip(" (").split(None, 1)[0].upper() if sql else ""
        if verb in ("SELECT", "WITH"):
            self.reads += 1
        elif verb in ("INSERT", "UPDATE", "DELETE", "COPY"):
            self.writes += 1
        else:
            self.other += 1
        return execute(sql, params, many, context)

    def snapshot(self) -> tuple[int, int, int]:
        return self.reads, self.writes, self.other

    def since(self, before: tuple[int, int, int]) -> dict[str, int]:
        reads, writes, other = (now - then for now, then in zip(self.snapshot(), before, strict=True))
        return {"reads": reads, "writes": writes, "other": other, "queries": reads + writes}


class RowCounter:
    """Counts the rows of one model the ORM returns: as instances (``post_init``), or
    as the tuples and dicts of ``values_list()`` and ``values()``."""

    def __init__(self, model: type) -> None:
        self.model = model
        self.rows = 0

    def _seen(self, sender: Any, **kwargs: Any) -> None:
        self.rows += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[RowCounter]:
        from django.db.models import query
        from django.db.models.signals import post_init

        counter = self
        originals = {}
        # (NamedValuesListIterable reads through ValuesListIterable: counted there.)
        for name in ("ValuesIterable", "ValuesListIterable", "FlatValuesListIterable"):
            cls = getattr(query, name)
            originals[cls] = cls.__iter__

            def counted(iterable: Any, _iter: Any = cls.__iter__) -> Iterator[Any]:
                for row in _iter(iterable):
                    if iterable.queryset.model is counter.model:
                        counter.rows += 1
                    yield row

            cls.__iter__ = counted
        post_init.connect(self._seen, sender=self.model, weak=False)
        try:
            yield self
        finally:
            post_init.disconnect(self._seen, sender=self.model)
            for cls, original in originals.items():
                cls.__iter__ = original


def rss_mib() -> float:
    """Resident set size now (MiB)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process (MiB)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Reset the peak RSS mark to the current RSS (Linux 4.0+); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class FakeClock:
    """The wall clock given to django-periodic: frozen, or running at real speed from a set instant."""

    def __init__(self, start: datetime) -> None:
        self._at = start
        self._since: float | None = None  # monotonic reading when it started running

    def __call__(self) -> datetime:
        if self._since is None:
            return self._at
        return self._at + timedelta(seconds=time.monotonic() - self._since)

    def set(self, at: datetime, running: bool) -> None:
        self._at = at
        self._since = time.monotonic() if running else None


@dataclass
class Stopwatch:
    """Wall time (perf_counter) and CPU time (process_time) of a block."""

    seconds: float = 0.0
    cpu: float = 0.0

    @contextlib.contextmanager
    def timing(self) -> Iterator[Stopwatch]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield self
        finally:
            self.seconds += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu
