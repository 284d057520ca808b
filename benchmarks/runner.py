"""Runs inside one implementation's virtual environment; prints JSON lines.

    runner.py build   --impl dp|dcb --n N          migrate and fill the database
    runner.py measure --impl dp|dcb --n N [...]    every scenario, in one beat's life
    runner.py pg create NAME [--template T] | pg drop NAME

The database is named by BENCH_DB / BENCH_DB_NAME (see settings_base.py); run.py
sets them. Start-up is measured in a process that has done nothing else, so its
memory growth is the scheduler's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record, default=str), flush=True)


def setup_django(impl: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = {"dp": "settings_dp", "dcb": "settings_dcb"}[impl]
    import django

    django.setup()


def make_app(broker: str, redis_url: str) -> Any:
    from celery import Celery

    app = Celery("bench", set_as_current=True)
    app.conf.update(
        broker_url=redis_url if broker == "redis" else "memory://",
        result_backend=None,
        result_expires=None,  # no celery.backend_cleanup entry on either side
        beat_schedule={},
        timezone="UTC",
        task_default_queue="bench",
    )
    return app


def purge(app: Any) -> None:
    with app.connection_for_write() as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_purge(app.conf.task_default_queue)


def cmd_build(args: argparse.Namespace) -> None:
    setup_django(args.impl)
    from adapters import ADAPTERS
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    adapter = ADAPTERS[args.impl](stub=True)
    counts = adapter.build(args.n)
    adapter.stop_clock()
    from django.db import connection

    if connection.vendor == "postgresql":
        # What autovacuum does within a minute of a bulk load: without statistics the
        # planner guesses that a third of the rows match any range, and scans them all.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    emit({"scenario": "build", "seconds": time.perf_counter() - started, **counts})


class Profiles:
    """pyinstrument around each scenario when --profile DIR is given.

    A scenario may enter its profile many times (idle profiles each tick, not the
    sleeps between them); the samples add up, and ``write`` saves one text
    report per scenario.
    """

    def __init__(self, directory: str | None, prefix: str) -> None:
        self.directory = Path(directory) if directory else None
        self.prefix = prefix
        self.profilers: dict[str, Any] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.directory is None:
            yield
            return
        from pyinstrument import Profiler

        profiler = self.profilers.setdefault(name, Profiler(interval=0.0005))
        profiler.start()
        try:
            yield
        finally:
            profiler.stop()

    def write(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, profiler in self.profilers.items():
            path = self.directory / f"{self.prefix}-{name}.txt"
            path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))


def cmd_measure(args: argparse.Namespace) -> None:
    setup_django(args.impl)
    import dataset
    import scenarios
    from adapters import ADAPTERS
    from django.db import connection
    from probes import QueryCounter, RowCounter

    app = make_app(args.broker, args.redis_url)
    if args.broker == "redis":
        purge(app)
    adapter = ADAPTERS[args.impl](stub=args.broker == "stub")
    counts = dataset.sizes(args.n)
    common = {"impl": args.impl, "db": os.environ.get("BENCH_DB"), "n": args.n, "repeat": args.repeat}
    common["broker"] = args.broker
    profiled = Profiles(args.profile, f"{args.impl}-{common['db']}-{args.n}")

    import celery
    import django

    emit(
        {
            **common,
            "scenario": "versions",
            "implementation": adapter.version,
            "django": django.get_version(),
            "celery": celery.__version__,
            "python": platform.python_version(),
        }
    )
    counter = QueryCounter()
    rows = RowCounter(adapter.models.PeriodicTask)
    with connection.execute_wrapper(counter):
        scheduler, figures = scenarios.startup(adapter, app, counter, profiled)
        emit({**common, "scenario": "startup", **figures})
        idle = scenarios.idle(adapter, scheduler, counter, args.idle, figures["cpu"], profiled)
        emit({**common, "scenario": "idle", **idle})
        emit(
            {
                **common,
                "scenario": "edit",
                **scenarios.edit(adapter, scheduler, counter, rows, profiled=profiled),
            }
        )
        for name, at, expected in (
            ("runstate", dataset.T_RUNSTATE, counts["group_a"]),
            ("burst", dataset.T_BURST, counts["burst"]),
        ):
            figures = scenarios.drain(adapter, scheduler, counter, at, expected, args.cap, name, profiled)
            emit({**common, "scenario": name, **figures})
    adapter.stop_clock()
    emit({**common, "scenario": "ceiling", **scenarios.ceiling(app, args.ceiling, profiled)})
    profiled.write()
    if args.broker == "redis":
        purge(app)


def cmd_pg(args: argparse.Namespace) -> None:
    import psycopg

    params = {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", "postgres"),
        "password": os.environ.get("PGPASSWORD", ""),
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as conn:
        name = psycopg.sql.Identifier(args.name)
        if args.action == "drop":
            conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        elif args.template:
            template = psycopg.sql.Identifier(args.template)
            conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(name, template))
        else:
            conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(name))


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(HERE))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build")
    build.add_argument("--impl", choices=("dp", "dcb"), required=True)
    build.add_argument("--n", type=int, required=True)
    measure = sub.add_parser("measure")
    measure.add_argument("--impl", choices=("dp", "dcb"), required=True)
    measure.add_argument("--n", type=int, required=True)
    measure.add_argument("--repeat", type=int, default=1)
    measure.add_argument("--broker", choices=("stub", "memory", "redis"), default="stub")
    measure.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    measure.add_argument("--idle", type=float, default=15.0, help="idle window, seconds")
    measure.add_argument("--cap", type=float, default=60.0, help="longest drain, seconds")
    measure.add_argument("--ceiling", type=int, default=5000, help="sends for the raw ceiling")
    measure.add_argument("--profile", metavar="DIR", help="write pyinstrument profiles here")
    pg = sub.add_parser("pg")
    pg.add_argument("action", choices=("create", "drop"))
    pg.add_argument("name")
    pg.add_argument("--template")
    args = parser.parse_args(argv)
    {"build": cmd_build, "measure": cmd_measure, "pg": cmd_pg}[args.command](args)


if __name__ == "__main__":
    main()
