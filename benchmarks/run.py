"""django-periodic against django-celery-beat, side by side: the one command.

    python benchmarks/run.py            # n = 1,000 / 10,000 / 100,000, SQLite and PostgreSQL, 3 runs
    python benchmarks/run.py --quick    # smoke test: n = 1,000, one run, short windows
    python benchmarks/run.py --sizes 1000,10000 --repeat 5 --dbs sqlite --broker redis

Creates benchmarks/.venv-dcb (django-celery-beat from PyPI) and benchmarks/.venv-dp
(this project, ``pip install -e``), both on the same Django and Celery versions,
then for each database and n builds one template database per implementation and,
for each run, measures a fresh copy of it in a fresh process (runner.py). Prints
the Markdown table and writes results/<stamp>.jsonl and .md, and results/latest.md.
Needs only Python 3.11+ with pip, and PostgreSQL for --dbs postgresql.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

import report  # noqa: E402

EXTRAS = ["psycopg[binary]>=3.1", "redis>=5", "pyinstrument>=4.6"]
VENVS = {
    "dcb": (HERE / ".venv-dcb", ["django-celery-beat", "time-machine>=2.13", *EXTRAS]),
    "dp": (HERE / ".venv-dp", None),  # filled in once .venv-dcb's versions are known
}
PINNED = ("django", "celery", "kombu")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path, requirements: list[str], reinstall: bool) -> None:
    """Create ``venv`` with ``requirements`` unless it already has exactly them."""
    stamp = venv / "benchmark-requirements.txt"
    wanted = "\n".join(requirements)
    if not reinstall and stamp.exists() and stamp.read_text() == wanted:
        return
    log(f"== installing {venv.name}: {' '.join(requirements)}")
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python_of(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *requirements], check=True)
    stamp.write_text(wanted)


def installed(venv: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(python_of(venv)), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def prepare(args: argparse.Namespace) -> None:
    dcb_venv, dcb_requirements = VENVS["dcb"]
    ensure_venv(dcb_venv, dcb_requirements, args.reinstall)
    versions = installed(dcb_venv)
    pins = [f"{name}=={versions[name]}" for name in PINNED if name in versions]
    ensure_venv(VENVS["dp"][0], ["-e", str(args.dp_source), *EXTRAS, *pins], args.reinstall)


class Databases:
    """One template database per (implementation, n); a fresh copy of it for each run."""

    def __init__(self, kind: str, scratch: Path) -> None:
        self.kind = kind
        self.scratch = scratch
        self.made: list[tuple[str, str]] = []

    def name(self, impl: str, n: int, template: bool) -> str:
        base = f"bench_{impl}_{n}" + ("_tpl" if template else "")
        return str(self.scratch / f"{base}.sqlite3") if self.kind == "sqlite" else base

    def env(self, name: str) -> dict[str, str]:
        return {**os.environ, "BENCH_DB": self.kind, "BENCH_DB_NAME": name}

    def pg(self, impl: str, *args: str) -> None:
        runner(impl, ["pg", *args], os.environ.copy())

    def create(self, impl: str, n: int) -> str:
        """An empty template database, to be filled by ``runner.py build``."""
        name = self.name(impl, n, template=True)
        if self.kind == "postgresql":
            self.pg(impl, "create", name)
            self.made.append((impl, name))
        return name

    def copy(self, impl: str, n: int) -> str:
        name = self.name(impl, n, template=False)
        template = self.name(impl, n, template=True)
        if self.kind == "sqlite":
            shutil.copyfile(template, name)
        else:
            self.pg(impl, "create", name, "--template", template)
            self.made.append((impl, name))
        return name

    def drop(self, impl: str, name: str) -> None:
        if self.kind == "sqlite":
            Path(name).unlink(missing_ok=True)
        else:
            self.pg(impl, "drop", name)

    def drop_all(self) -> None:
        for impl, name in self.made:
            self.drop(impl, name)
        self.made.clear()


def runner(impl: str, argv: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    """Run runner.py in ``impl``'s venv; return the JSON lines it printed."""
    proc = subprocess.run(
        [str(python_of(VENVS[impl][0])), str(HERE / "runner.py"), *argv],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        log(proc.stdout[-3000:])
        log(proc.stderr[-5000:])
        raise SystemExit(f"runner.py {' '.join(argv)} failed ({impl}, exit {proc.returncode})")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def summary(records: list[dict[str, Any]]) -> str:
    by = {r["scenario"]: r for r in records}

    def get(scenario: str, key: str) -> str:
        return report.fmt(by.get(scenario, {}).get(key))

    return (
        f"start {get('startup', 'seconds')}s {get('startup', 'peak_mib')}MiB | "
        f"idle {get('idle', 'cpu_per_min')} cpu-s/min | edit {get('edit', 'work_ms')}ms "
        f"rows {get('edit', 'rows_read')} effect {get('edit', 'effect_s')}s | "
        f"burst {get('burst', 'sent')}/{get('burst', 'expected')} at {get('burst', 'rate')}/s | "
        f"ceiling {get('ceiling', 'rate')}/s"
    )


def measure_args(args: argparse.Namespace, n: int, repeat: int, impl: str, db: str) -> list[str]:
    argv = ["measure", "--impl", impl, "--n", str(n), "--repeat", str(repeat), "--broker", args.broker]
    argv += ["--redis-url", args.redis_url, "--idle", str(args.idle), "--cap", str(args.cap)]
    argv += ["--ceiling", str(args.ceiling)]
    if args.profile:
        argv += ["--profile", str(RESULTS / "profiles")]
    return argv


def run(args: argparse.Namespace, out: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="django-periodic-bench-") as scratch:
        for db in args.dbs:
            databases = Databases(db, Path(scratch))
            try:
                for n in args.sizes:
                    for impl in args.impls:
                        name = databases.create(impl, n)
                        built = runner(impl, ["build", "--impl", impl, "--n", str(n)], databases.env(name))
                        log(f"-- {db} n={n:,} {impl}: built in {built[-1]['seconds']:.1f}s")
                    for repeat in range(1, args.repeat + 1):
                        order = args.impls if repeat % 2 else list(reversed(args.impls))
                        for impl in order:  # alternate who goes first: the machine's noise is shared
                            name = databases.copy(impl, n)
                            lines = runner(impl, measure_args(args, n, repeat, impl, db), databases.env(name))
                            databases.drop(impl, name)
                            with out.open("a") as sink:
                                for line in lines:
                                    sink.write(json.dumps(line) + "\n")
                            records += lines
                            log(f"   {db} n={n:,} run {repeat} {impl:>3}: {summary(lines)}")
            finally:
                databases.drop_all()
    return records


def header(args: argparse.Namespace, records: list[dict[str, Any]], elapsed: float) -> list[str]:
    versions = {r["impl"]: r for r in records if r.get("scenario") == "versions"}
    stack = ", ".join(f"{report.LABELS[impl]} {v['implementation']}" for impl, v in sorted(versions.items()))
    any_version = next(iter(versions.values()), {})
    load = os.getloadavg()
    return [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {stack}; Django {any_version.get('django')}, "
        f"Celery {any_version.get('celery')}, Python {any_version.get('python')}; "
        f"{os.cpu_count()} CPUs ({platform.machine()}), load average at the end "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}. Sending: "
        + ("stubbed (counted)" if args.broker == "stub" else f"real, {args.broker} broker")
        + f". Median of {args.repeat} run(s); idle window {args.idle:g}s; drains capped at {args.cap:g}s "
        f"(~ marks a figure extrapolated from a capped drain); whole run {elapsed / 60:.0f} min.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated n (enabled tasks)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--dbs", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--impls", default="dcb,dp", help=argparse.SUPPRESS)
    parser.add_argument("--broker", choices=("stub", "memory", "redis"), default="stub")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15", help="for --broker redis")
    parser.add_argument("--idle", type=float, default=15.0, help="idle window per run, seconds")
    parser.add_argument("--cap", type=float, default=60.0, help="longest burst drain, then extrapolate")
    parser.add_argument("--ceiling", type=int, default=5000, help="send_task calls for the raw ceiling")
    parser.add_argument("--quick", action="store_true", help="n=1,000, one run, short windows")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profiles in results/profiles/")
    parser.add_argument("--dp-source", type=Path, default=PROJECT, help="django-periodic checkout to install")
    parser.add_argument("--reinstall", action="store_true", help="recreate both virtual environments")
    parser.add_argument(
        "--report", nargs="+", type=Path, metavar="JSONL", help="only re-render these results"
    )
    args = parser.parse_args(argv)
    if args.report:
        records = [json.loads(line) for path in args.report for line in path.read_text().splitlines() if line]
        print(report.markdown(records, [f"Results of {', '.join(p.name for p in args.report)}."]))
        return
    if args.quick:
        args.sizes, args.repeat, args.idle, args.cap, args.ceiling = "1000", 1, 5.0, 20.0, 2000
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s]
    args.dbs = [d for d in args.dbs.split(",") if d]
    args.impls = [i for i in args.impls.split(",") if i]

    started = time.monotonic()
    prepare(args)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    stamp += "" if args.broker == "stub" else f"-{args.broker}"
    out = RESULTS / f"{stamp}.jsonl"
    records = run(args, out)
    text = report.markdown(records, header(args, records, time.monotonic() - started))
    (RESULTS / f"{stamp}.md").write_text(text)
    latest = (
        "latest" + ("-quick" if args.quick else "") + ("" if args.broker == "stub" else f"-{args.broker}")
    )
    (RESULTS / f"{latest}.md").write_text(text)
    print(text)
    log(f"== written {out.relative_to(PROJECT)} and {out.with_suffix('.md').relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
