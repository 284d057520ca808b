"""Pickup latency with real processes: how soon an edit takes effect, and idle queries.

    DJANGO_PERIODIC_DB=postgresql python benchmarks/pickup.py [--repeat 20] [--broker redis://...]

Starts a real ``celery worker`` and ``celery beat -S django`` of the test project on
a scratch database, then measures, `--repeat` times each, the time from the commit
of a change to its effect as the worker sees it:

* create:  a one-off due now is created           -> the worker runs it
* edit:    a schedule row is moved to now          -> the worker runs its task
* enable:  a disabled one-off due now is enabled    -> the worker runs it
* disable: an every-second task is disabled         -> its last run (0 if none slipped through)
* delete:  an every-second task is deleted          -> its last run (0 if none slipped through)

and the queries an idle beat makes per minute (counted by the database: PostgreSQL's
pg_stat_database, MariaDB's Com_select/Com_update status; SQLite is not counted).
Prints p50 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
os.environ.setdefault("DJANGO_PERIODIC_DB_NAME", "bench_pickup")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--idle", type=float, default=30.0, help="idle window in seconds")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="pickup-"))
    if os.environ.get("DJANGO_PERIODIC_DB", "sqlite") == "sqlite":
        os.environ["DJANGO_PERIODIC_DB_NAME"] = str(scratch / "pickup.sqlite3")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "sqlite":
        name = connection.settings_dict["NAME"]
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name}")
        connection.close()
    call_command("migrate", verbosity=0)

    from tests.processes import Cluster

    cluster = Cluster(args.broker, scratch)
    cluster.env["DJANGO_PERIODIC_DB_NAME"] = connection.settings_dict["NAME"]
    try:
        cluster.start_worker()
        cluster.start_beat()
        results = measure(args.repeat)
        idle = idle_queries(args.idle)
    finally:
        cluster.stop_all()
        drop_scratch_database()
    print(f"database: {connection.vendor}, broker: {args.broker.split(':')[0]}, repeat: {args.repeat}")
    print("| change | p50 (ms) | max (ms) |\n|---|---|---|")
    for kind, values in results.items():
        print(f"| {kind} | {statistics.median(values) * 1000:.0f} | {max(values) * 1000:.0f} |")
    if idle is not None:
        print(f"idle beat: {idle:.0f} queries per minute (counted by the database server)")


def drop_scratch_database() -> None:
    from django.db import connection

    if connection.vendor == "sqlite":
        return
    name = connection.settings_dict["NAME"]
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")


def measure(repeat: int) -> dict[str, list[float]]:
    from django.utils import timezone

    from django_periodic.models import ClockedSchedule, IntervalSchedule, PeriodicTask
    from testproject.models import TaskRun

    record = "testproject.tasks.record_run"
    results: dict[str, list[float]] = {k: [] for k in ("create", "edit", "enable", "disable", "delete")}

    def ran(name: str, after: float, timeout: float = 10.0) -> float:
        deadline = time.time() + timeout
        while time.time() < deadline:
            row = TaskRun.objects.filter(periodic_task_name=name).order_by("ran_at").first()
            if row is not None:
                return row.ran_at.timestamp() - after
            time.sleep(0.005)
        raise RuntimeError(f"{name} did not run within {timeout}s")

    def last_run_after(name: str, committed: float) -> float:
        time.sleep(2.0)  # long enough for any run that slipped through to arrive
        row = TaskRun.objects.filter(periodic_task_name=name).order_by("-ran_at").first()
        return max(row.ran_at.timestamp() - committed, 0.0) if row else 0.0

    every_second = IntervalSchedule.objects.create(every=1, period="seconds")
    for i in range(repeat):
        when = ClockedSchedule.objects.create(clocked_time=timezone.now())
        committed = time.time()
        PeriodicTask.objects.create(name=f"create-{i}", task=record, clocked=when, one_off=True)
        results["create"].append(ran(f"create-{i}", committed))

        later = ClockedSchedule.objects.create(clocked_time=timezone.now() + timedelta(days=1))
        PeriodicTask.objects.create(name=f"edit-{i}", task=record, clocked=later, one_off=True)
        time.sleep(0.6)
        later.clocked_time = timezone.now()
        committed = time.time()
        later.save()
        results["edit"].append(ran(f"edit-{i}", committed))

        off = ClockedSchedule.objects.create(clocked_time=timezone.now())
        PeriodicTask.objects.create(name=f"enable-{i}", task=record, clocked=off, one_off=True, enabled=False)
        time.sleep(0.6)
        committed = time.time()
        PeriodicTask.objects.filter(name=f"enable-{i}").update(enabled=True)
        results["enable"].append(ran(f"enable-{i}", committed))

        for kind in ("disable", "delete"):
            name = f"{kind}-{i}"
            PeriodicTask.objects.create(name=name, task=record, interval=every_second)
            ran(name, 0, timeout=5)
            committed = time.time()
            rows = PeriodicTask.objects.filter(name=name)
            rows.update(enabled=False) if kind == "disable" else rows.delete()
            results[kind].append(last_run_after(name, committed))
    return results


def idle_queries(window: float) -> float | None:
    from django.db import connection

    from django_periodic.models import PeriodicTask

    PeriodicTask.objects.all().delete()
    time.sleep(2)
    if connection.vendor == "postgresql":
        sql = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
    elif connection.vendor == "mysql":
        sql = None
    else:
        return None

    def count() -> int:
        with connection.cursor() as cursor:
            if sql:
                cursor.execute(sql)
                return int(cursor.fetchone()[0])
            cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select', 'Com_update')")
            return sum(int(value) for _name, value in cursor.fetchall())

    start = count()
    time.sleep(window)
    # each count() is itself one statement; in autocommit each statement is one transaction
    return (count() - start - 1) * 60.0 / window


if __name__ == "__main__":
    main()
