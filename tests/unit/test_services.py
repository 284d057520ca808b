"""A missing service skips a test on a developer's machine and fails it in CI (``CI=true``)."""

from __future__ import annotations

import pytest

from tests.support import services

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_a_missing_service_fails_in_ci(monkeypatch):
    monkeypatch.setattr(services, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI must provide it"):
        services.require(UNREACHABLE, "redis")


def test_a_missing_service_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(services, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="start it to run this test"):
        services.require(UNREACHABLE, "redis")
