"""``periodic_tasks pause NAME [--reason TEXT] [--by WHO]`` and ``periodic_tasks resume NAME``.

Pausing disables the task and records who paused it, when and why, as the admin
does; resuming enables it and clears that record. Both move the change counter,
so beat sees them within a poll.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from ..models import PeriodicTask

COMMANDS = ("pause", "resume")


def add_parsers(commands: Any) -> None:
    """The two subcommands, on the command's subparsers."""
    pause = commands.add_parser("pause", help="disable a task, recording who paused it and why")
    pause.add_argument("name", help="the periodic task's name")
    pause.add_argument("--reason", default="", help="why, shown in the admin until the task is resumed")
    pause.add_argument("--by", help="who pauses it (default: 'command line' and the login name)")
    resume = commands.add_parser("resume", help="enable a paused task and clear its pause record")
    resume.add_argument("name", help="the periodic task's name")


def run(command: BaseCommand, options: dict[str, Any]) -> None:
    """Run ``pause`` or ``resume`` with the parsed ``options``."""
    name = options["name"]
    task = PeriodicTask.objects.filter(name=name).first()
    if task is None:
        raise CommandError(_("No periodic task is named “%(name)s”.") % {"name": name})
    if options["command"] == "pause":
        by = options["by"] or f"command line ({_login_name()})"
        if task.pause(by, options["reason"]):
            command.stdout.write(_("Paused “%(name)s”: beat sends nothing more for it.") % {"name": name})
        else:
            command.stdout.write(_("“%(name)s” is disabled already; nothing changed.") % {"name": name})
    elif task.resume():
        command.stdout.write(_("Resumed “%(name)s”: beat sends it again from its next run.") % {"name": name})
    else:
        command.stdout.write(_("“%(name)s” is enabled already; nothing changed.") % {"name": name})


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's numeric user)
        return "?"
