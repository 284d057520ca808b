"""``periodic_tasks export`` and ``periodic_tasks import``: schedules as files.

periodic_tasks export [-o FILE] [--format json|yaml] [--with-state]
periodic_tasks import FILE [--format json|yaml] [--dry-run] [--prune]
"""

from __future__ import annotations

import json
import sys
from argparse import _SubParsersAction
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, OutputWrapper
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..transfer.apply import ADDED, CHANGED, DISABLED, FAILED, UNCHANGED, Report, apply_document
from ..transfer.document import (
    FORMATS,
    DocumentError,
    dumps,
    export_tasks,
    exportable_tasks,
    format_of,
    loads,
)


def add_parsers(commands: _SubParsersAction) -> None:
    """Add the ``export`` and ``import`` subcommands."""
    export = commands.add_parser("export", help="write every periodic task, by value, as JSON or YAML")
    export.add_argument("-o", "--output", help="the file to write (default: standard output)")
    export.add_argument(
        "--format", choices=FORMATS, help="json or yaml (default: from the file name, else json)"
    )
    export.add_argument(
        "--with-state",
        action="store_true",
        help="also write last_run_at and total_run_count (beat's run state)",
    )
    load = commands.add_parser("import", help="apply a file written by export: tasks matched by name")
    load.add_argument("file", help="the file to read ('-' for standard input)")
    load.add_argument(
        "--format", choices=FORMATS, help="json or yaml (default: from the file name, else json)"
    )
    load.add_argument("--dry-run", action="store_true", help="show what would change and write nothing")
    load.add_argument("--prune", action="store_true", help="disable the enabled tasks the file does not have")


def export(options: dict[str, Any], stdout: OutputWrapper) -> None:
    """Write the document to ``--output`` or to standard output."""
    path = options.get("output")
    fmt = options.get("format") or (format_of(path) if path else "json")
    document = export_tasks(exportable_tasks(), with_state=options["with_state"])
    try:
        text = dumps(document, fmt)
    except DocumentError as exc:
        raise CommandError(str(exc)) from exc
    if not path:
        stdout.write(text, ending="")
        return
    Path(path).write_text(text, encoding="utf-8")
    count = len(document["tasks"])
    stdout.write(ngettext("Wrote %(count)s task to %(path)s.", "Wrote %(count)s tasks to %(path)s.", count)
                 % {"count": count, "path": path})  # fmt: skip


def load(options: dict[str, Any], stdout: OutputWrapper) -> None:
    """Apply the file and print each task's outcome; fail when a task could not be applied."""
    path = options["file"]
    fmt = options.get("format") or format_of(path)
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}) from exc
    try:
        document = loads(text, fmt)
    except DocumentError as exc:
        raise CommandError(f"{path}: {exc}") from exc
    report = apply_document(document, dry_run=options["dry_run"], prune=options["prune"])
    for line in report_lines(report):
        stdout.write(line)
    failed = report.count(FAILED)
    if failed and report.dry_run:
        message = ngettext(
            "%(count)s task would not apply (see above).",
            "%(count)s tasks would not apply (see above).",
            failed,
        )
        raise CommandError(message % {"count": failed})
    if failed:
        message = ngettext(
            "%(count)s task could not be applied (see above); the others were.",
            "%(count)s tasks could not be applied (see above); the others were.",
            failed,
        )
        raise CommandError(message % {"count": failed})


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def report_lines(report: Report) -> list[str]:
    """The outcome of each task that changed or failed, then the counts."""
    titles = {
        ADDED: _("added"),
        CHANGED: _("changed"),
        FAILED: _("failed"),
        DISABLED: _("disabled (not in the file)"),
    }
    lines = []
    for outcome in report.outcomes:
        if outcome.status == UNCHANGED:
            continue
        lines.append(f"{titles[outcome.status]}: {outcome.name}")
        lines.extend(f"  {field}: {_shown(old)} -> {_shown(new)}" for field, old, new in outcome.changes)
        lines.extend(f"  {field}: {reason}" if field else f"  {reason}" for field, reason in outcome.errors)
    counts = {status: report.count(status) for status in (ADDED, CHANGED, UNCHANGED, FAILED, DISABLED)}
    summary = (
        _(
            "%(added)s added, %(changed)s changed, %(unchanged)s unchanged, "
            "%(failed)s failed, %(disabled)s disabled."
        )
        % counts
    )
    lines.append((_("Dry run, nothing written: ") if report.dry_run else "") + summary)
    return lines
