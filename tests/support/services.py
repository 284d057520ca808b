"""Reaching the services tests need: fail in CI when one is missing, skip elsewhere."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

BROKERS = {
    "redis": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}


def reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether something listens at the host and port of ``url``."""
    parsed = urlparse(url)
    default = {"redis": 6379, "amqp": 5672, "postgresql": 5432, "mysql": 3306}.get(parsed.scheme)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default), timeout=timeout
        ):
            return True
    except OSError:
        return False


def require(url: str, what: str) -> None:
    """Fail (CI) or skip (a developer's machine) when ``url`` cannot be reached."""
    if reachable(url):
        return
    message = f"{what} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(f"{message}: start it to run this test (CI runs it)")
