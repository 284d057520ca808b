"""The README's demo command: a sample task runs within a minute on a fresh database."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_demo_runs_sample_tasks(tmp_path):
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DEMO_SECONDS": "20",
        "DEMO_PORT": str(free_port()),
        "DJANGO_PERIODIC_VAR": str(tmp_path),
        "DJANGO_PERIODIC_DB": "sqlite",
    }
    env.pop("DJANGO_PERIODIC_DB_NAME", None)
    env.pop("CELERY_BROKER_URL", None)
    result = subprocess.run(
        ["bash", "testproject/demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "3 periodic tasks ready." in output
    assert "testproject.tasks.record_run" in output and "succeeded" in output, output[-3000:]
    assert "one-off done" in output
