"""Medians, ratios and the Markdown report, from the runner's JSON lines (standard library only)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

IMPLS = ("dcb", "dp")
LABELS = {"dcb": "django-celery-beat", "dp": "django-periodic"}
DB_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Metric:
    scenario: str
    key: str
    label: str
    lower_is_better: bool = True


METRICS = (
    Metric("startup", "seconds", "start-up to first tick, s"),
    Metric("startup", "peak_mib", "start-up peak memory (RSS growth), MiB"),
    Metric("idle", "cpu_per_min", "idle CPU, s per minute (polling)"),
    Metric("idle", "cpu_per_min_with_reloads", "idle CPU, s per minute (with periodic full reads)"),
    Metric("idle", "queries_per_min", "idle queries per minute"),
    Metric("edit", "rows_read", "one edit: task rows read"),
    Metric("edit", "queries", "one edit: queries of the tick that applies it"),
    Metric("edit", "work_ms", "one edit: work of that tick, ms"),
    Metric("edit", "effect_s", "one edit: time until it takes effect, s"),
    Metric("burst", "expected", "burst: runs due at once", lower_is_better=False),
    Metric("burst", "seconds", "burst: time to send all, s"),
    Metric("burst", "rate", "burst: sends per second", lower_is_better=False),
    Metric("burst", "ceiling_pct", "burst: % of Celery's own send rate", lower_is_better=False),
    Metric("burst", "writes", "burst: statements written"),
    Metric("runstate", "writes_per_1000", "run state: statements written per 1,000 sends"),
    Metric("runstate", "queries_per_1000", "run state: queries per 1,000 sends"),
    Metric("ceiling", "rate", "raw ceiling: Celery send_task per second", lower_is_better=False),
)
NEUTRAL = {("burst", "expected"), ("ceiling", "rate")}  # context, not a contest


def _run_key(record: dict[str, Any]) -> tuple:
    return (record["impl"], record["db"], record["n"], record["repeat"], record["broker"])


def derive(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``ceiling_pct`` to each burst record, from the ceiling measured in the same process.

    With a real broker it is the burst's send rate over Celery's. With the stub it is
    projected: the rate the scheduler would reach if each of its runs also paid
    Celery's own cost of one send, over Celery's rate, i.e. r / (r + ceiling).
    """
    records = list(records)
    ceilings = {_run_key(r): r["rate"] for r in records if r.get("scenario") == "ceiling"}
    for record in records:
        if record.get("scenario") != "burst" or not record.get("rate"):
            continue
        ceiling = ceilings.get(_run_key(record))
        if not ceiling:
            continue
        rate = record["rate"]
        record["ceiling_pct"] = 100 * (
            rate / (rate + ceiling) if record["broker"] == "stub" else rate / ceiling
        )
    return records


def medians(records: Iterable[dict[str, Any]]) -> dict[tuple, tuple[float | None, bool, int]]:
    """(impl, db, n, scenario, key) -> (median, extrapolated in any run, runs)."""
    values: dict[tuple, list[float]] = defaultdict(list)
    rough: dict[tuple, bool] = defaultdict(bool)
    for record in records:
        for metric in METRICS:
            if record.get("scenario") != metric.scenario:
                continue
            value = record.get(metric.key)
            key = (record["impl"], record["db"], record["n"], metric.scenario, metric.key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[key].append(float(value))
                rough[key] |= bool(record.get("extrapolated"))
    return {key: (statistics.median(v), rough[key], len(v)) for key, v in values.items()}


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude == 0:
        return "0"
    return f"{value:.2g}"


def advantage(metric: Metric, dcb: float | None, dp: float | None) -> str:
    """How many times django-periodic is better (above 1) or worse (below 1)."""
    if (metric.scenario, metric.key) in NEUTRAL or dcb is None or dp is None:
        return ""
    better, worse = (dcb, dp) if metric.lower_is_better else (dp, dcb)
    if worse == 0:
        return "=" if better == 0 else "∞"
    ratio = better / worse
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


def table(stats: dict, db: str, sizes: list[int]) -> list[str]:
    lines = [
        f"| figure | n | {LABELS['dcb']} | {LABELS['dp']} | django-periodic better by |",
        "|---|--:|--:|--:|--:|",
    ]
    for metric in METRICS:
        for n in sizes:
            cells = []
            raw = {}
            for impl in IMPLS:
                value, rough, _runs = stats.get((impl, db, n, metric.scenario, metric.key), (None, False, 0))
                raw[impl] = value
                cells.append(("~" if rough else "") + fmt(value))
            if raw["dcb"] is None and raw["dp"] is None:
                continue
            ratio = advantage(metric, raw["dcb"], raw["dp"])
            lines.append(f"| {metric.label} | {n:,} | {cells[0]} | {cells[1]} | {ratio} |")
    return lines


GROWTH = (
    ("startup", "seconds", "start-up time"),
    ("startup", "peak_mib", "start-up memory"),
    ("idle", "cpu_per_min", "idle CPU (polling)"),
    ("edit", "work_ms", "one edit: work"),
    ("edit", "rows_read", "one edit: rows read"),
    ("burst", "seconds", "burst of min(n, 10k): time"),
)


def growth(stats: dict, db: str, sizes: list[int]) -> list[str]:
    """Exponent k of cost ~ n^k between the smallest and the largest n (n log n is about 1.1)."""
    if len(sizes) < 2:
        return []
    small, large = sizes[0], sizes[-1]
    lines = [
        f"| cost | {LABELS['dcb']} | {LABELS['dp']} |",
        "|---|--:|--:|",
    ]
    for scenario, key, label in GROWTH:
        cells = []
        for impl in IMPLS:
            a = stats.get((impl, db, small, scenario, key), (None,))[0]
            b = stats.get((impl, db, large, scenario, key), (None,))[0]
            cells.append(f"{math.log(b / a) / math.log(large / small):.2f}" if a and b and a > 0 else "n/a")
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return lines


def targets(stats: dict, db: str, n: int) -> list[str]:
    """The issue's targets, checked at the largest n measured."""

    def get(impl: str, scenario: str, key: str) -> float | None:
        return stats.get((impl, db, n, scenario, key), (None,))[0]

    def ratio(scenario: str, key: str) -> float | None:
        dcb, dp = get("dcb", scenario, key), get("dp", scenario, key)
        return dcb / dp if dcb is not None and dp else None

    def check(ok: bool | None, text: str) -> str:
        mark = "n/a" if ok is None else ("met" if ok else "MISSED")
        return f"| {text} | {mark} |"

    startup = ratio("startup", "seconds")
    memory = ratio("startup", "peak_mib")
    idle = ratio("idle", "cpu_per_min_with_reloads")
    edit_rows, edit_ms, edit_s = (get("dp", "edit", k) for k in ("rows_read", "work_ms", "effect_s"))
    pct = get("dp", "burst", "ceiling_pct")
    writes = get("dp", "runstate", "writes_per_1000")
    return [
        f"| target at n = {n:,} | result |",
        "|---|---|",
        check(
            None if startup is None else startup >= 10, f"start-up ≥ 10x faster (measured {fmt(startup)}x)"
        ),
        check(None if memory is None else memory >= 4, f"start-up memory ≤ 1/4 (measured 1/{fmt(memory)})"),
        check(None if idle is None else idle >= 50, f"idle CPU ≤ 1/50 (measured 1/{fmt(idle)})"),
        check(
            None if edit_rows is None else edit_rows <= 5,
            f"edit reads the changed row (+ const): {fmt(edit_rows)}",
        ),
        check(None if edit_ms is None else edit_ms < 10, f"edit work < 10 ms: {fmt(edit_ms)} ms"),
        check(None if edit_s is None else edit_s <= 1, f"edit takes effect within 1 s: {fmt(edit_s)} s"),
        check(None if pct is None else pct >= 80, f"burst ≥ 80% of Celery's send rate: {fmt(pct)}%"),
        check(None if writes is None else writes <= 5, f"run state: a handful per 1,000 runs: {fmt(writes)}"),
    ]


def markdown(records: list[dict[str, Any]], header: list[str]) -> str:
    records = derive(records)
    stats = medians(records)
    dbs = [db for db in DB_LABELS if any(r.get("db") == db for r in records)]
    out = list(header)
    for db in dbs:
        sizes = sorted({r["n"] for r in records if r.get("db") == db})
        out += ["", f"### {DB_LABELS[db]}", "", *table(stats, db, sizes)]
        grow = growth(stats, db, sizes)
        if grow:
            out += ["", f"How cost grows with n on {DB_LABELS[db]} (k in cost ∝ n^k, n = {sizes[0]:,} → "
                    f"{sizes[-1]:,}; n log n is about 1.1):", "", *grow]  # fmt: skip
        out += ["", f"Targets of issue #7 on {DB_LABELS[db]}:", "", *targets(stats, db, sizes[-1])]
    return "\n".join(out) + "\n"
