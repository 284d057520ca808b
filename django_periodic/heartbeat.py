"""The heartbeat file: how a beat process tells a probe on its host that it is alive.

Each beat process keeps one small JSON file in the ``HEARTBEAT_DIR`` setting's folder,
named after its host and pid. At the end of every tick it sets the file's modification
time (one system call, no database write); it rewrites the content only when something
in it changes: whether it leads, or a back-off longer than its usual tick interval
(a database outage), during which it announces when to expect its next tick.

Beat writes these files (:class:`Heartbeat`); ``periodic_tasks health --this-host`` reads
them (:func:`read_heartbeats`), which is why this module sits beside both, importing
nothing of ours.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("django_periodic.beat")

PREFIX = "beat-"


def heartbeat_dir(configured: str | os.PathLike[str] | None) -> Path:
    """The folder of the heartbeat files: the setting, or one in the temporary directory."""
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "django-periodic"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (signal 0 probes without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, under another user
    return True


class Heartbeat:
    """The heartbeat file of this beat process."""

    def __init__(
        self,
        directory: Path,
        lease: str,
        max_interval: float,
        *,
        host: str | None = None,
        pid: int | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.host = host or socket.gethostname()
        self.pid = pid or os.getpid()
        self.lease = lease
        self.max_interval = float(max_interval)
        self.path = directory / f"{PREFIX}{self.host}-{self.pid}.json"
        self.wall = wall
        #: the content last written, or None before the first write
        self._written: dict[str, Any] | None = None
        self._failed = False

    def beat(self, leader: bool, wait: float) -> None:
        """A tick ended; the next one starts in ``wait`` seconds. Never raises."""
        quiet = wait > self.max_interval
        try:
            written = self._written
            if written is None or written["leader"] != leader or quiet or written["quiet_until"]:
                self._write(leader, self.wall() + wait if quiet else None)
            else:
                try:
                    os.utime(self.path)
                except FileNotFoundError:  # removed meanwhile (a cleaner of the temporary folder)
                    self._write(leader, None)
            self._failed = False
        except OSError as exc:
            self._written = None  # write it whole at the next tick
            if not self._failed:
                self._failed = True
                logger.warning(
                    "Could not write the heartbeat file %s: %s. `periodic_tasks health --this-host` "
                    "will report this beat as down; set DJANGO_PERIODIC['HEARTBEAT_DIR'] to a folder "
                    "beat can write. Beat keeps running.",
                    self.path,
                    exc,
                )

    def _write(self, leader: bool, quiet_until: float | None) -> None:
        content = {
            "host": self.host,
            "pid": self.pid,
            "lease": self.lease,
            "leader": leader,
            "max_interval": self.max_interval,
            "quiet_until": quiet_until,
        }
        if self._written is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._prune()
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps(content))
        os.replace(partial, self.path)
        self._written = content

    def _prune(self) -> None:
        """Remove the files of beats on this host that no longer run (killed ones leave theirs)."""
        for found in read_heartbeats(self.path.parent, self.host):
            if found.pid != self.pid and not pid_alive(found.pid):
                with contextlib.suppress(OSError):
                    found.path.unlink()


@dataclass(frozen=True)
class Found:
    """A heartbeat file as a probe reads it."""

    path: Path
    host: str
    pid: int
    lease: str
    leader: bool
    max_interval: float
    quiet_until: float | None
    #: when the beat last ended a tick (the file's modification time)
    ticked_at: float

    @property
    def holder(self) -> str:
        """The beat as the lease row names its holder."""
        return f"{self.host}:{self.pid}"

    def next_tick_by(self) -> float:
        """When the beat said its next tick would end at the latest (without any grace)."""
        return max(self.ticked_at + self.max_interval, self.quiet_until or 0.0)


def read_heartbeats(directory: Path, host: str) -> list[Found]:
    """The heartbeat files in ``directory`` written by beats on ``host``, newest first.
    Files that cannot be read or parsed are left out."""
    found: list[Found] = []
    try:
        paths = list(directory.glob(f"{PREFIX}*.json"))
    except OSError:
        return []
    for path in paths:
        try:
            ticked_at = path.stat().st_mtime
            data = json.loads(path.read_text())
            quiet_until = None if data["quiet_until"] is None else float(data["quiet_until"])
            item = Found(
                path, str(data["host"]), int(data["pid"]), str(data["lease"]), bool(data["leader"]),
                float(data["max_interval"]), quiet_until, ticked_at,
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if item.host == host:
            found.append(item)
    return sorted(found, key=lambda item: item.ticked_at, reverse=True)
