"""The README's demo command: sample tasks run on a fresh database, and Ctrl-C stops it cleanly."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DJANGO_PERIODIC_DB", "sqlite") != "sqlite",
        reason="the demo always runs on SQLite; the SQLite environments run it",
    ),
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_runs_sample_tasks_and_prints_its_shutdown_on_ctrl_c(tmp_path):
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DEMO_PORT": str(free_port()),
        "DJANGO_PERIODIC_VAR": str(tmp_path),
        "DJANGO_PERIODIC_DB": "sqlite",
    }
    for name in ("DJANGO_PERIODIC_DB_NAME", "CELERY_BROKER_URL", "DEMO_SECONDS"):
        env.pop(name, None)
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(
            ["bash", "testproject/demo.sh"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # As a terminal runs it: its own process group, SIGINT not ignored.
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            wait_for(
                lambda: "one-off done" in log.read_text() and "record_run" in log.read_text(),
                timeout=90,
                what="the sample tasks to run",
            )
            # Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
            os.killpg(demo.pid, signal.SIGINT)
            returncode = demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
    output = log.read_text()

    def printed(pattern):
        return re.search(pattern, output, re.MULTILINE)

    assert returncode == 130, output[-3000:]
    assert "3 sample tasks ready." in output
    # Only those three: no result backend, so no celery.backend_cleanup task either.
    assert printed(r"^\[beat\] .*Loaded 3 periodic task\(s\)"), output[-3000:]
    assert not printed(r"^\[beat\] .*Loaded (?!3 )\d+ periodic task"), output[-3000:]
    assert printed(r"^\[worker\] .*testproject\.tasks\.record_run\[.*\] succeeded"), output[-3000:]
    # say() logs through Celery's task logger at INFO (a print() would show as a WARNING).
    assert printed(r"^\[worker\] .*INFO/\w+\] testproject\.tasks\.say\[.*\]: say: one-off done$"), output
    # The lines printed after the Ctrl-C, by processes shutting down.
    assert printed(r"^\[worker\] worker: Warm shutdown"), output[-3000:]
    assert printed(r"^\[beat\] .*released the lease"), output[-3000:]
