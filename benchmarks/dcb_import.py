"""Importing from django-celery-beat: how long ``import-django-celery-beat`` takes for n tasks.

    python benchmarks/dcb_import.py                       # n = 100,000 on SQLite and PostgreSQL
    python benchmarks/dcb_import.py --n 10000 --dbs sqlite

Runs in the project's environment with the test extra (it has django-celery-beat 2.9).
For each database: a scratch database (a SQLite file in a temporary folder, or the
PostgreSQL database ``bench_dcb_import``, dropped at the end) gets both apps' tables by
their migrations, then n django-celery-beat tasks written with multi-row INSERTs (60%
interval, 40% crontab in seven time zones, 5% of them disabled; args, kwargs, headers,
options and run state set), spread over 300 interval and 700 crontab rows with many
equal ones. Then it times, in a fresh process each, the import with ``--disable-source``
and a second run (which changes nothing). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Europe/London",
]
PERIODS = ["seconds", "minutes", "hours", "days"]


def setup(db: str, name: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="testproject.settings_dcb",
        DJANGO_PERIODIC_DB=db,
        DJANGO_PERIODIC_DB_NAME=name,
        DJANGO_DEBUG="0",  # as in production: DEBUG keeps every query in memory
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(n: int) -> None:
    """Both apps' tables by their migrations; n tasks in django-celery-beat's, by bulk SQL."""
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    adapt = connection.ops.adapt_datetimefield_value
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    intervals = [(i + 1, 1 + i % 30, PERIODS[i % 4]) for i in range(300)]  # 120 distinct, 180 equal
    crontabs = [
        (i + 1, str(i % 60), str(i % 24), "*", "*", "*" if i % 3 else "1-5", ZONES[i % 7]) for i in range(700)
    ]
    columns = (
        "id, name, task, args, kwargs, queue, exchange, routing_key, expires, enabled, last_run_at, "
        "total_run_count, date_changed, description, crontab_id, interval_id, solar_id, one_off, "
        "start_time, priority, headers, clocked_id, expire_seconds"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        insert(cursor, "django_celery_beat_intervalschedule", "id, every, period", intervals)
        insert(
            cursor,
            "django_celery_beat_crontabschedule",
            "id, minute, hour, day_of_week, day_of_month, month_of_year, timezone",
            crontabs,
        )
        rows = []
        for i in range(n):
            crontab = i % 5 < 2
            rows.append(
                (
                    i + 1,
                    f"bench-task-{i:06d}",
                    f"proj.tasks.job_{i % 50}",
                    json.dumps([i, "x"]),
                    json.dumps({"n": i}),
                    "bench" if i % 4 == 0 else None,
                    None,
                    None,
                    None,
                    i % 20 != 0,
                    adapt(t0 - timedelta(seconds=i)) if i % 20 else None,
                    i % 1000,
                    adapt(t0),
                    "",
                    (i % 700) + 1 if crontab else None,
                    None if crontab else (i % 300) + 1,
                    None,
                    False,
                    None,
                    i % 10 if i % 3 == 0 else None,
                    json.dumps({"tenant": i % 7}),
                    None,
                    300 if i % 9 == 0 else None,
                )
            )
            if len(rows) == 1000:
                insert(cursor, "django_celery_beat_periodictask", columns, rows)
                rows = []
        if rows:
            insert(cursor, "django_celery_beat_periodictask", columns, rows)
        cursor.execute(
            "INSERT INTO django_celery_beat_periodictasks (ident, last_update) VALUES (1, %s)", [adapt(t0)]
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("periodictask", "intervalschedule", "crontabschedule"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('django_celery_beat_{table}', 'id'), %s)", [n]
                )
                cursor.execute(f"ANALYZE django_celery_beat_{table}")


def insert(cursor, table: str, columns: str, rows: list[tuple]) -> None:
    width = columns.count(",") + 1
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", [v for row in chunk for v in row])


def timed_import(*args: str) -> dict:
    from io import StringIO

    from django.core.management import call_command

    from django_periodic.models import PeriodicTask

    out = StringIO()
    started = time.perf_counter()
    call_command("periodic_tasks", "import-django-celery-beat", *args, stdout=out, stderr=sys.stderr)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "summary": out.getvalue().splitlines()[-2:],
        "tasks": PeriodicTask.objects.count(),
    }


def child(argv: list[str]) -> None:
    step, db, name, n = argv[0], argv[1], argv[2], int(argv[3])
    setup(db, name)
    if step == "seed":
        started = time.perf_counter()
        seed(n)
        print(json.dumps({"seconds": time.perf_counter() - started}))
    else:
        print(json.dumps(timed_import(*(["--disable-source"] if step == "import" else []))))


def run_child(*argv: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{' '.join(argv)} failed")
    return json.loads(proc.stdout.splitlines()[-1])


def postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="django-celery-beat tasks to import")
    parser.add_argument("--dbs", default="sqlite,postgresql", help="sqlite, postgresql or both")
    args = parser.parse_args()
    lines = [
        f"Import of {args.n:,} django-celery-beat tasks (seconds, wall time)",
        "",
        "| database | seed (bulk SQL) | import --disable-source | second run (no change) |",
        "|---|---|---|---|",
    ]
    for db in [d for d in args.dbs.split(",") if d]:
        with tempfile.TemporaryDirectory(prefix="dcb-import-") as scratch:
            name = str(Path(scratch) / "bench.sqlite3") if db == "sqlite" else "bench_dcb_import"
            if db == "postgresql":
                postgres(f"DROP DATABASE IF EXISTS {name}")
                postgres(f"CREATE DATABASE {name}")
            try:
                seeded = run_child("seed", db, name, str(args.n))
                first = run_child("import", db, name, str(args.n))
                second = run_child("again", db, name, str(args.n))
            finally:
                if db == "postgresql":
                    postgres(f"DROP DATABASE IF EXISTS {name}")
        print(f"{db}: {first['summary']} / {second['summary']}", file=sys.stderr)
        lines.append(f"| {db} | {seeded['seconds']:.1f} | {first['seconds']:.1f} | {second['seconds']:.1f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
