"""``manage.py periodic_tasks``: look at the schedule from the command line.

periodic_tasks next --task NAME [-n 10] [--after ISO-DATETIME]
periodic_tasks leader
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ...models import BeatLease, PeriodicTask


class Command(BaseCommand):
    help = "Show the next runs of a periodic task, or which beat process is the leader."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        upcoming = commands.add_parser("next", help="the next run times of a task")
        upcoming.add_argument("--task", required=True, help="the periodic task's name")
        upcoming.add_argument("-n", "--count", type=int, default=10, help="how many runs (default 10)")
        upcoming.add_argument("--after", help="an ISO 8601 instant to start from (default: now)")
        commands.add_parser("leader", help="the beat process holding the lease")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "next":
            self.next_runs(options["task"], options["count"], options["after"])
        else:
            self.leader()

    def next_runs(self, name: str, count: int, after: str | None) -> None:
        try:
            task = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked").get(
                name=name
            )
        except PeriodicTask.DoesNotExist:
            raise CommandError(f"No periodic task is named {name!r}.") from None
        now = self._instant(after)
        try:
            runs = task.upcoming_runs(now, count)
        except ImportError as exc:
            raise CommandError(
                f"{name}: {exc}. Solar schedules need the solar extra: pip install 'django-periodic[solar]'."
            ) from exc
        zone = getattr(task.crontab, "timezone", None)
        self.stdout.write(f"{task.name}: {task.scheduler}{'' if task.enabled else ' (disabled)'}")
        if not runs:
            self.stdout.write("  no further runs")
        for run in runs:
            local = f"  {run.astimezone(zone).isoformat()}" if zone is not None else ""
            self.stdout.write(f"  {run.isoformat()}{local}")

    def _instant(self, text: str | None) -> datetime:
        if not text:
            return timezone.now()
        value = parse_datetime(text)
        if value is None:
            raise CommandError(f"--after {text!r} is not an ISO 8601 datetime (2026-03-29T01:00:00+00:00).")
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def leader(self) -> None:
        leases = list(BeatLease.objects.order_by("name"))
        if not leases:
            self.stdout.write("No beat has taken the lease yet.")
        now = timezone.now()
        for lease in leases:
            live = lease.expires_at is not None and lease.expires_at > now
            self.stdout.write(
                f"{lease.name}: {lease.holder or '-'}, epoch {lease.epoch}, "
                f"leader since {lease.acquired_at and lease.acquired_at.isoformat()}, "
                f"lease {'valid until' if live else 'expired at'} "
                f"{lease.expires_at and lease.expires_at.isoformat()}"
            )
