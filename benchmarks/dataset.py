"""The task mix and the timeline every scenario runs on, the same for both implementations.

n enabled tasks (about 60% interval, 40% crontab in seven time zones) plus about
5% disabled ones on top. The fake clock starts at ``T0`` (a Monday, 12:00 UTC);
the run state written here decides what falls due when:

* group A, ``min(n, 1000)`` tasks: due at ``T_RUNSTATE`` (T0 + 70 min), and again
  at ``T_BURST`` (interval every 10 minutes, or crontab at minutes 10 and 20 of
  13:00 UTC, written in local time);
* group B, the next ``min(n, 10000) - len(A)`` tasks: due at ``T_BURST`` (T0 + 80
  min; interval every 80 minutes, or crontab at 13:20 UTC in local time);
* the rest: daily, six- and twelve-hourly intervals and crontabs whose runs are
  hours away (several of them single-hour crontabs that django-celery-beat's
  "+/- 2 hours" filter leaves out of its schedule: its own optimisation).

So nothing falls due during start-up, idle and the edit (before T0 + 70 min), and
the burst is exactly ``min(n, 10000)`` runs due at one instant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # a Monday
T_EDIT = T0 + timedelta(minutes=61)
T_RUNSTATE = T0 + timedelta(minutes=70)
T_BURST = T0 + timedelta(minutes=80)
TASK = "bench.noop"
EDIT_TARGET = "bench-0000000"  # an interval task that every implementation loads
BATCH = 2000

# Zones whose offset on 2026-06-01 puts 13:10 and 13:20 UTC in the same local hour.
BURST_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "America/Sao_Paulo",
               "Australia/Sydney", "Asia/Kolkata")  # fmt: skip
# Crontabs whose runs are hours away from T0 .. T0 + 90 min (minute, hour, dow, dom, zone).
FAR_CRONTABS = (
    ("0", "3", "*", "*", "Europe/Berlin"),
    ("30", "2", "1-5", "*", "America/New_York"),
    ("15", "8", "*", "*", "Asia/Tokyo"),
    ("45", "4", "*", "1", "Asia/Kolkata"),
    ("0", "9-17", "1-5", "*", "Australia/Sydney"),
    ("*/30", "0-6", "*", "*", "UTC"),
    ("0", "0", "0", "*", "America/Sao_Paulo"),
)


def sizes(n: int) -> dict[str, int]:
    """How many tasks each group has for n enabled tasks."""
    group_a = min(n, 1000)
    burst = min(n, 10_000)
    return {
        "enabled": n,
        "group_a": group_a,
        "burst": burst,
        "disabled": round(n * 5 / 95),
    }


def _local_crontab(minutes: tuple[int, ...], utc_hour: int, zone: str) -> tuple[str, str, str, str, str]:
    """A crontab that fires at ``utc_hour:minutes`` UTC on T0's day, written in ``zone``'s time."""
    local = [T0.replace(hour=utc_hour, minute=m).astimezone(ZoneInfo(zone)) for m in minutes]
    assert len({t.hour for t in local}) == 1, zone
    return (",".join(str(t.minute) for t in local), str(local[0].hour), "*", "*", zone)


def build(models: object, n: int, json_text: bool) -> dict[str, int]:
    """Create the schedules and tasks with ``bulk_create``; return the group sizes.

    ``models`` is the implementation's models module (same names in both);
    ``json_text``: store args/kwargs/headers as JSON text (django-celery-beat).
    """
    interval_model = models.IntervalSchedule
    crontab_model = models.CrontabSchedule
    task_model = models.PeriodicTask

    def interval(minutes: int) -> object:
        return interval_model.objects.create(every=minutes, period="minutes")

    def crontab(spec: tuple[str, str, str, str, str]) -> object:
        minute, hour, dow, dom, zone = spec
        return crontab_model.objects.create(
            minute=minute, hour=hour, day_of_week=dow, day_of_month=dom, month_of_year="*", timezone=zone
        )

    every_10, every_80 = interval(10), interval(80)
    far_intervals = [interval(24 * 60), interval(6 * 60), interval(12 * 60)]
    cron_a = [crontab(_local_crontab((10, 20), 13, zone)) for zone in BURST_ZONES]
    cron_b = [crontab(_local_crontab((20,), 13, zone)) for zone in BURST_ZONES]
    cron_far = [crontab(spec) for spec in FAR_CRONTABS]

    counts = sizes(n)
    encode = json.dumps if json_text else (lambda value: value)

    def task(i: int, enabled: bool = True) -> object:
        group = "a" if i < counts["group_a"] else "b" if i < counts["burst"] else "far"
        is_interval = i % 5 < 3  # 60% interval, 40% crontab
        fields: dict[str, object] = {}
        if group == "a":
            schedule = every_10 if is_interval else cron_a[i % len(cron_a)]
            last_run = T_RUNSTATE - timedelta(minutes=10) if is_interval else T0 - timedelta(seconds=1)
        elif group == "b":
            schedule = every_80 if is_interval else cron_b[i % len(cron_b)]
            last_run = T0 if is_interval else T0 - timedelta(seconds=1)
        else:
            schedule = far_intervals[i % 3] if is_interval else cron_far[i % len(cron_far)]
            last_run = T0 - timedelta(minutes=1)
        fields["interval" if is_interval else "crontab"] = schedule
        if i % 5 == 4:
            fields["queue"] = "reports"
        if i % 10 == 3:
            fields["priority"] = 5
        if i % 10 == 7:
            fields["expire_seconds"] = 600
        return task_model(
            name=f"bench-{i:07d}",
            task=TASK,
            args=encode([i]),
            kwargs=encode({"tenant": i % 100}),
            headers=encode({}),
            enabled=enabled,
            last_run_at=last_run if enabled else None,
            description="",
            **fields,
        )

    objs = [task(i) for i in range(n)]
    objs += [task(n + i, enabled=False) for i in range(counts["disabled"])]
    for start in range(0, len(objs), BATCH):
        task_model.objects.bulk_create(objs[start : start + BATCH])
    return counts
