"""Real ``celery beat`` and ``celery worker`` processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CELERY = [sys.executable, "-m", "celery", "-A", "testproject"]


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def database_env() -> dict[str, str]:
    """Environment that points a child process at the test database."""
    vendor = {"postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}[connection.vendor]
    return {"DJANGO_PERIODIC_DB": vendor, "DJANGO_PERIODIC_DB_NAME": str(connection.settings_dict["NAME"])}


class Process:
    """One child process with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, *texts: str, timeout: float = 30.0) -> None:
        """Wait until one of ``texts`` shows in the log; the process exiting first is an error."""
        wait_for(
            lambda: any(t in self.log() for t in texts) or self.popen.poll() is not None,
            timeout,
            f"{texts!r} in the {self.name} log",
        )
        assert self.popen.poll() is None, f"{self.name} exited:\n{self.log()[-3000:]}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


class Cluster:
    """Beat and worker processes sharing the test database and a private queue."""

    def __init__(self, broker_url: str, log_dir: Path, extra_env: dict[str, str] | None = None):
        self.queue = f"e2e-{uuid.uuid4().hex[:8]}"
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            **database_env(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_PERIODIC_BROKER_DIR": str(log_dir / "broker"),
            **(extra_env or {}),
        }
        self.processes: list[Process] = []

    def start_worker(self, pool: str = "solo", concurrency: int = 1, include: str = "") -> Process:
        """A worker on this cluster's queue; ``include`` names modules only the worker imports."""
        worker = self._start(
            "worker",
            [
                *CELERY,
                "worker",
                *(["--include", include] if include else []),
                "-P",
                pool,
                "-c",
                str(concurrency),
                "-Q",
                self.queue,
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
                "-n",
                f"{self.queue}@%h",
            ],
        )
        worker.wait_log("ready.")
        return worker

    def start_beat(self, name: str = "beat", **env: str) -> Process:
        beat = self._start(
            name,
            [
                *CELERY,
                "beat",
                "-S",
                # not "django": with django-celery-beat installed too (the import tests need
                # it), that alias may name its scheduler (system check django_periodic.W001)
                "django_periodic",
                "-l",
                "info",
                "--pidfile=",
                "--schedule",
                str(self.log_dir / "beat-schedule"),
            ],
            env,
        )
        beat.wait_log("Loaded ", "is standby")
        return beat

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Process:
        process = Process(f"{name}-{len(self.processes)}", args, {**self.env, **(env or {})}, self.log_dir)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            # workers get a cold shutdown: nothing of theirs is under test here
            process.stop(signal.SIGQUIT if process.name.startswith("worker") else signal.SIGTERM)

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.log()[-4000:]}" for p in self.processes)
