"""The heartbeat file beat touches at each tick, and the --this-host verdict read from it."""

from __future__ import annotations

import json
import logging
import os

import pytest

from django_periodic.heartbeat import Heartbeat, read_heartbeats
from django_periodic.management.health import HEALTHY, UNHEALTHY, host_verdict


class Wall:
    """A wall clock tests move by hand (the heartbeat's content carries wall times)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(tmp_path, pid=4242, wall=None, max_interval=5.0):
    return Heartbeat(tmp_path, "default", max_interval, host="web-1", pid=pid, wall=wall or Wall())


def test_first_tick_writes_the_file_then_ticks_only_touch_it(tmp_path):
    heartbeat = make(tmp_path)
    heartbeat.beat(leader=True, wait=0.5)
    content = json.loads(heartbeat.path.read_text())
    assert content == {
        "host": "web-1", "pid": 4242, "lease": "default", "leader": True, "max_interval": 5.0,
        "quiet_until": None,
    }  # fmt: skip
    inode = heartbeat.path.stat().st_ino
    os.utime(heartbeat.path, (1000.0, 1000.0))
    heartbeat.beat(leader=True, wait=0.5)
    touched = heartbeat.path.stat()
    assert touched.st_ino == inode, "a plain tick rewrote the file instead of touching it"
    assert touched.st_mtime > 1000.0


def test_leadership_and_a_long_back_off_rewrite_the_content(tmp_path):
    wall = Wall()
    heartbeat = make(tmp_path, wall=wall)
    heartbeat.beat(leader=False, wait=2.0)
    heartbeat.beat(leader=True, wait=0.5)
    assert json.loads(heartbeat.path.read_text())["leader"] is True
    heartbeat.beat(leader=True, wait=30.0)  # a database error: beat backs off for 30 s
    assert json.loads(heartbeat.path.read_text())["quiet_until"] == wall.now + 30.0
    heartbeat.beat(leader=True, wait=0.5)
    assert json.loads(heartbeat.path.read_text())["quiet_until"] is None


def test_a_removed_file_is_written_again(tmp_path):
    heartbeat = make(tmp_path)
    heartbeat.beat(leader=True, wait=1.0)
    heartbeat.path.unlink()
    heartbeat.beat(leader=True, wait=1.0)
    assert json.loads(heartbeat.path.read_text())["pid"] == 4242


def test_an_unwritable_folder_is_logged_once_and_never_raises(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    heartbeat = make(blocker / "sub")  # a folder below a file: cannot be made
    with caplog.at_level(logging.WARNING, logger="django_periodic.beat"):
        for _ in range(3):
            heartbeat.beat(leader=True, wait=1.0)
    warnings = [r for r in caplog.records if "heartbeat file" in r.getMessage()]
    assert len(warnings) == 1 and "HEARTBEAT_DIR" in warnings[0].getMessage()


def test_files_of_beats_that_stopped_are_pruned_at_the_first_write(tmp_path):
    dead = make(tmp_path, pid=999_999_99)  # no such process
    dead.beat(leader=True, wait=1.0)
    other_host = Heartbeat(tmp_path, "default", 5.0, host="web-2", pid=999_999_98)
    other_host.beat(leader=False, wait=1.0)
    make(tmp_path, pid=os.getpid()).beat(leader=False, wait=1.0)
    assert not dead.path.exists(), "the file of a stopped beat on this host was left"
    assert other_host.path.exists(), "a file of another host was pruned"
    assert [found.pid for found in read_heartbeats(tmp_path, "web-1")] == [os.getpid()]


def found_with(tmp_path, mtime, pid=4242, **beat):
    heartbeat = make(tmp_path, pid=pid)
    heartbeat.beat(**{"leader": True, "wait": 1.0, **beat})
    os.utime(heartbeat.path, (mtime, mtime))
    return read_heartbeats(tmp_path, "web-1")


@pytest.mark.parametrize(
    ("age", "code"),
    [(0.2, HEALTHY), (5.0 + 9.9, HEALTHY), (5.0 + 10.1, UNHEALTHY)],
)
def test_alive_while_the_next_tick_is_within_max_interval_plus_grace(tmp_path, age, code):
    now = 1_800_000_000.0
    found = found_with(tmp_path, now - age)
    verdict, live = host_verdict(found, "web-1", tmp_path, now, grace=10.0, alive=lambda pid: True)
    assert verdict.code == code
    if code == HEALTHY:
        assert live == found and "beat web-1:4242 on this host ended a tick" in verdict.line
    else:
        assert "runs, but its last tick ended 15s ago" in verdict.line and "stuck or paused" in verdict.line


def test_a_back_off_announced_in_the_file_keeps_the_beat_alive(tmp_path):
    wall = Wall()
    heartbeat = make(tmp_path, wall=wall)
    heartbeat.beat(leader=True, wait=30.0)
    os.utime(heartbeat.path, (wall.now, wall.now))
    found = read_heartbeats(tmp_path, "web-1")
    verdict, _live = host_verdict(found, "web-1", tmp_path, wall.now + 35.0, 10.0, alive=lambda pid: True)
    assert verdict.code == HEALTHY
    verdict, _live = host_verdict(found, "web-1", tmp_path, wall.now + 41.0, 10.0, alive=lambda pid: True)
    assert verdict.code == UNHEALTHY


def test_a_beat_whose_process_ended_is_down_however_fresh_its_file(tmp_path):
    now = 1_800_000_000.0
    found = found_with(tmp_path, now - 1.0)
    verdict, live = host_verdict(found, "web-1", tmp_path, now, 10.0, alive=lambda pid: False)
    assert (verdict.code, live) == (UNHEALTHY, [])
    assert verdict.line == (
        "unhealthy: the beat on this host (web-1:4242) is not running; its last tick ended 1s ago"
    )


def test_no_file_says_where_it_looked(tmp_path):
    verdict, _live = host_verdict([], "web-1", tmp_path, 0.0, 10.0)
    assert verdict.code == UNHEALTHY
    assert verdict.line == (
        f"unhealthy: no beat on this host (web-1) has written a heartbeat file in {tmp_path}"
    )
