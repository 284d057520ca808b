"""``manage.py periodic_tasks``: look at the schedule from the command line.

periodic_tasks next --task NAME [-n 10] [--after ISO-DATETIME]
periodic_tasks leader
periodic_tasks runs [--task NAME] [-n 20]
periodic_tasks prune-runs
periodic_tasks health [--this-host] [--leader] [--grace SECONDS]   (exit 0 healthy, 1 not, 2 no database)
periodic_tasks pause NAME [--reason TEXT] [--by WHO] / periodic_tasks resume NAME
periodic_tasks export [-o FILE] [--format json|yaml] [--with-state]
periodic_tasks import FILE [--dry-run] [--prune]
periodic_tasks import-django-celery-beat [--dry-run] [--disable-source] [--database DB]
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from ...conf import app_settings
from ...importing.dcb import import_dcb
from ...importing.dcb_source import SourceError
from ...importing.progress import Progress
from ...models import BeatLease, PeriodicTask, PeriodicTaskRun
from ...models.runs import prune_runs as prune_run_rows
from .. import health, pausing, schedule_files


class Command(BaseCommand):
    help = "Show the next runs of a periodic task, its last runs, or which beat process is the leader."
    # A probe must answer when the database does not (some backends' checks connect to it),
    # and none of the subcommands needs the system checks Django runs first.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        upcoming = commands.add_parser("next", help="the next run times of a task")
        upcoming.add_argument("--task", required=True, help="the periodic task's name")
        upcoming.add_argument("-n", "--count", type=int, default=10, help="how many runs (default 10)")
        upcoming.add_argument("--after", help="an ISO 8601 instant to start from (default: now)")
        commands.add_parser("leader", help="the beat process holding the lease")
        runs = commands.add_parser(
            "runs", help="the last runs of a task, or of all tasks, from the run ledger"
        )
        runs.add_argument("--task", help="the periodic task's name (default: every task)")
        runs.add_argument(
            "-n", "--count", dest="limit", type=int, default=20, help="how many runs (default 20)"
        )
        commands.add_parser("prune-runs", help="delete runs past RUNS_KEEP_PER_TASK and RUNS_KEEP_DAYS now")
        health.add_arguments(
            commands.add_parser(
                "health", help="a probe: exit 0 when beat is healthy, else 1 (2: no database)"
            )
        )
        pausing.add_parsers(commands)
        schedule_files.add_parsers(commands)
        dcb = commands.add_parser(
            "import-django-celery-beat",
            help=str(_("copy django-celery-beat's schedules and run state into django-periodic")),
        )
        dcb.add_argument(
            "--dry-run", action="store_true", help=str(_("show what would change; write nothing"))
        )
        dcb.add_argument(
            "--disable-source",
            action="store_true",
            help=str(_("disable the imported tasks in django-celery-beat's table, in the same transaction")),
        )
        dcb.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help=str(_("the database alias to read and write (default: default)")),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        command = options["command"]
        if command == "next":
            self.next_runs(options["task"], options["count"], options["after"])
        elif command == "runs":
            self.runs(options["task"], options["limit"])
        elif command == "prune-runs":
            self.prune_runs()
        elif command == "health":
            self.health(options)
        elif command in pausing.COMMANDS:
            pausing.run(self, options)
        elif command == "export":
            schedule_files.export(options, self.stdout)
        elif command == "import":
            schedule_files.load(options, self.stdout)
        elif command == "import-django-celery-beat":
            self.import_dcb(options)
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

    def health(self, options: dict[str, Any]) -> None:
        verdict = health.check(options)
        (self.stdout if verdict.code == health.HEALTHY else self.stderr).write(verdict.line)
        if verdict.code != health.HEALTHY:
            raise SystemExit(verdict.code)

    def runs(self, name: str | None, count: int) -> None:
        runs = PeriodicTaskRun.objects.all()
        if name is not None:
            runs = runs.filter(task_name=name)
            if not runs.exists() and not PeriodicTask.objects.filter(name=name).exists():
                raise CommandError(f"No periodic task is named {name!r}, and no run carries that name.")
        rows = [
            (
                run.scheduled_at.isoformat(timespec="seconds"),
                run.task_name,
                run.state,
                run.trigger,
                "" if run.duration is None else f"{run.duration.total_seconds():.3f}s",
                run.worker or "-",
                run.celery_task_id,
                run.reason,
            )
            for run in runs.order_by("-scheduled_at", "-id")[:count]
        ]
        if not rows:
            self.stdout.write("No runs recorded.")
            return
        header = ("scheduled for", "task", "state", "trigger", "duration", "worker", "task id", "reason")
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, str(row[-1])]).rstrip())

    def prune_runs(self) -> None:
        total, after = 0, None
        while True:
            deleted, after = prune_run_rows(
                timezone.now(), app_settings.RUNS_KEEP_PER_TASK, app_settings.RUNS_KEEP_DAYS, after_task=after
            )
            total += deleted
            if not deleted and after is None:
                break
        self.stdout.write(f"Deleted {total} run(s).")

    def import_dcb(self, options: dict[str, Any]) -> None:
        dry_run, disable = options["dry_run"], options["disable_source"]
        if dry_run and disable:
            raise CommandError(
                _("--dry-run writes nothing, so it cannot --disable-source: give one of them.")
            )
        progress = Progress(self.stderr._out, tty=self.stderr.isatty())
        try:
            plan = import_dcb(options["database"], dry_run=dry_run, disable_source=disable, progress=progress)
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        verbose = dry_run or options["verbosity"] >= 2
        create, update = (_("would create"), _("would update")) if dry_run else (_("created"), _("updated"))
        if verbose:
            for task in plan.created:
                self.stdout.write(f"{create} {task.name}")
            for task, fields in plan.updated:
                self.stdout.write(f"{update} {task.name}: {', '.join(fields)}")
        for problem in plan.problems:
            self.stdout.write(
                _("not imported: %(name)s (django-celery-beat id %(id)s): %(reason)s")
                % {"name": problem.name, "id": problem.source_id, "reason": problem.reason}
            )
        new_schedules = sum(len(rows) for rows in plan.new_schedules.values())
        summary = _(
            "%(read)s task(s) in django-celery-beat: %(created)s %(create)s, %(updated)s %(update)s, "
            "%(unchanged)s unchanged, %(problems)s not imported; %(schedules)s new schedule(s), "
            "%(reused)s equal one(s) reused."
        ) % {
            "read": plan.read,
            "created": len(plan.created),
            "create": create,
            "updated": len(plan.updated),
            "update": update,
            "unchanged": len(plan.unchanged),
            "problems": len(plan.problems),
            "schedules": new_schedules,
            "reused": plan.reused_schedules,
        }
        self.stdout.write(summary)
        if dry_run:
            self.stdout.write(str(_("Dry run: nothing was written.")))
        elif disable:
            self.stdout.write(
                _("Disabled %(count)s task(s) in django-celery-beat's table.")
                % {"count": plan.disabled_in_source}
            )
