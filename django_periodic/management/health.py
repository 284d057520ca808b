"""``periodic_tasks health``: liveness and readiness probes for beat, one line and an exit code.

Without options: is some beat sending? It is when a beat holds the lease and renewed it
within its lease time, judged by the database clock (one single-row read).

``--this-host``: is the beat process on this host alive? It is when its heartbeat file
(see :mod:`django_periodic.heartbeat`) was touched within its tick interval plus a
grace, and its pid runs. No database read: a database outage, which beat outlives,
fails no liveness probe. A standby passes.

``--leader`` (implies ``--this-host``): the beat on this host is alive *and* holds the
lease, by the database. A standby fails it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.db import Error as DatabaseError
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from ..conf import app_settings
from ..heartbeat import Found, heartbeat_dir, pid_alive, read_heartbeats
from ..models import BeatLease

#: The exit codes (docs/operations.md lists them).
HEALTHY, UNHEALTHY, DATABASE_UNREACHABLE = 0, 1, 2


@dataclass(frozen=True)
class Verdict:
    """An exit code and what it means, in words."""

    code: int
    detail: str

    @property
    def line(self) -> str:
        """The one line the command prints."""
        if self.code == HEALTHY:
            return _("healthy: %(detail)s") % {"detail": self.detail}
        return _("unhealthy: %(detail)s") % {"detail": self.detail}


@dataclass(frozen=True)
class LeaseState:
    """The lease row, and the database's clock when it was read."""

    name: str
    holder: str
    epoch: int
    renewed_at: datetime | None
    expires_at: datetime | None
    db_now: datetime


def add_arguments(parser: CommandParser) -> None:
    """The options of ``periodic_tasks health``."""
    parser.add_argument(
        "--this-host", action="store_true",
        help="liveness: the beat process on this host is alive and ticking (reads no database)",
    )  # fmt: skip
    parser.add_argument(
        "--leader", action="store_true",
        help="readiness: the beat on this host is alive and holds the lease (implies --this-host)",
    )  # fmt: skip
    parser.add_argument(
        "--grace", type=float, default=10.0,
        help="seconds a beat may be late for its next tick before --this-host fails (default 10)",
    )  # fmt: skip
    parser.add_argument("--lease", help="the lease name (default: the LEASE_NAME setting)")
    parser.add_argument("--database", default="default", help="the database alias (default: default)")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def read_lease(name: str, using: str = "default", db_now: Callable[[], Any] = Now) -> LeaseState | None:
    """The lease row named ``name`` with the database's clock, in one query (None: no row)."""
    row = (
        BeatLease.objects.using(using)
        .filter(name=name)
        .annotate(db_now=db_now())
        .values_list("holder", "epoch", "renewed_at", "expires_at", "db_now")
        .first()
    )
    return None if row is None else LeaseState(name, *row)


def lease_verdict(state: LeaseState | None, name: str, lease_seconds: float) -> Verdict:
    """Whether a beat holds the lease ``name`` and renewed it within its lease time."""
    if state is None or not state.holder or state.expires_at is None:
        return Verdict(UNHEALTHY, _("no beat has ever held the lease %(lease)r") % {"lease": name})
    values = {"lease": name, "holder": state.holder, "epoch": state.epoch}
    if state.expires_at > state.db_now:
        renewed = (state.db_now - (state.renewed_at or state.db_now)).total_seconds()
        left = (state.expires_at - state.db_now).total_seconds()
        return Verdict(
            HEALTHY,
            _(
                "%(holder)s holds the lease %(lease)r (epoch %(epoch)s), renewed %(renewed).1fs ago, "
                "valid for %(left).1fs more"
            )
            % {**values, "renewed": renewed, "left": left},
        )
    ago = (state.db_now - state.expires_at).total_seconds()
    held = (state.expires_at - state.renewed_at).total_seconds() if state.renewed_at else lease_seconds
    if held < lease_seconds - 0.001:  # release() ends the lease early; a renewal runs it in full
        line = _(
            "the lease %(lease)r was released %(ago).0fs ago by %(holder)s (epoch %(epoch)s) "
            "as it stopped, and no beat has taken it since"
        )
    else:
        line = _(
            "the lease %(lease)r expired %(ago).0fs ago, last held by %(holder)s (epoch %(epoch)s); "
            "no beat has renewed or taken it since"
        )
    return Verdict(UNHEALTHY, line % {**values, "ago": ago})


def host_verdict(
    found: list[Found], host: str, directory: Path, now: float, grace: float,
    alive: Callable[[int], bool] = pid_alive,
) -> tuple[Verdict, list[Found]]:  # fmt: skip
    """Whether a beat on ``host`` is alive and ticking, from its heartbeat files ``found``
    (newest first); with the beats that are."""
    live = [item for item in found if now <= item.next_tick_by() + grace and alive(item.pid)]
    if live:
        item = live[0]
        role = _("leader") if item.leader else _("standby")
        line = _("beat %(holder)s on this host ended a tick %(ago).1fs ago (%(role)s)") % {
            "holder": item.holder, "ago": max(now - item.ticked_at, 0.0), "role": role,
        }  # fmt: skip
        return Verdict(HEALTHY, line), live
    if not found:
        line = _("no beat on this host (%(host)s) has written a heartbeat file in %(directory)s") % {
            "host": host, "directory": directory,
        }  # fmt: skip
        return Verdict(UNHEALTHY, line), []
    item = found[0]
    values = {"holder": item.holder, "ago": now - item.ticked_at, "every": item.max_interval}
    if not alive(item.pid):
        line = _("the beat on this host (%(holder)s) is not running; its last tick ended %(ago).0fs ago")
    else:
        line = _(
            "the beat on this host (%(holder)s) runs, but its last tick ended %(ago).0fs ago "
            "(it ticks at least every %(every)gs): it is stuck or paused"
        )
    return Verdict(UNHEALTHY, line % values), []


def leader_verdict(live: list[Found], state: LeaseState | None, name: str, lease_seconds: float) -> Verdict:
    """Whether one of the ``live`` beats on this host holds the lease (readiness of the leader)."""
    cluster = lease_verdict(state, name, lease_seconds)
    holders = {item.holder for item in live}
    if cluster.code == HEALTHY and state is not None and state.holder in holders:
        return Verdict(HEALTHY, _("the beat on this host leads: %(state)s") % {"state": cluster.detail})
    if cluster.code == HEALTHY and state is not None:
        line = _("the beat on this host (%(local)s) stands by; %(holder)s holds the lease %(lease)r") % {
            "local": ", ".join(sorted(holders)), "holder": state.holder, "lease": name,
        }  # fmt: skip
        return Verdict(UNHEALTHY, line)
    return Verdict(UNHEALTHY, _("the beat on this host does not lead: %(state)s") % {"state": cluster.detail})


def check(
    options: dict[str, Any], now: Callable[[], float] = time.time, db_now: Callable[[], Any] = Now
) -> Verdict:
    """The verdict for the command's ``options``."""
    name = options.get("lease") or app_settings.LEASE_NAME
    seconds = float(app_settings.LEASE_SECONDS)
    live: list[Found] = []
    if options.get("this_host") or options.get("leader"):
        host = socket.gethostname()
        directory = heartbeat_dir(app_settings.HEARTBEAT_DIR)
        found = [item for item in read_heartbeats(directory, host) if item.lease == name]
        verdict, live = host_verdict(found, host, directory, now(), float(options.get("grace", 10.0)))
        if verdict.code != HEALTHY or not options.get("leader"):
            return verdict
    try:
        state = read_lease(name, options.get("database") or "default", db_now)
    except DatabaseError as exc:
        return Verdict(
            DATABASE_UNREACHABLE,
            _("the database cannot be read (%(error)s)") % {"error": _one_line(exc)},
        )
    if options.get("leader"):
        return leader_verdict(live, state, name, seconds)
    return lease_verdict(state, name, seconds)
