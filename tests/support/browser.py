"""Helpers for the admin tests: a pinned clock, a broker-less Celery app, a headless browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from celery import Celery, current_app
from celery.signals import before_task_publish

from tests.support.services import IN_CI

#: The instant the admin's clock is pinned to (a Thursday, three days before New York's DST start).
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]


def fixed_now() -> datetime:
    """The admin's clock in these tests (``DJANGO_PERIODIC["CLOCK"]`` names it)."""
    return NOW


@pytest.fixture
def pinned_clock(settings: Any) -> datetime:
    """Pin the clock the admin previews with (the one beat reads) to :data:`NOW`."""
    settings.DJANGO_PERIODIC = {**settings.DJANGO_PERIODIC, "CLOCK": "tests.support.browser.fixed_now"}
    return NOW


#: The one task the in-memory app registers; other names are sent by name.
REGISTERED = "tests.admin.registered"


def registered(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - never executed
    """The task :data:`REGISTERED`."""


@pytest.fixture
def published() -> Iterator[list[dict[str, Any]]]:
    """Make an in-memory Celery app the current one; record every message it publishes.

    "Run now" sends through ``celery.current_app``; this points it at a broker
    that needs no server (and leaves no files), in every thread, the live
    server's included.
    """
    celery_app = Celery("tests-admin", set_as_current=False)
    celery_app.conf.update(broker_url="memory://", result_backend=None, task_default_queue="tests")
    celery_app.task(name=REGISTERED, shared=False)(registered)

    previous = current_app._get_current_object()
    seen: list[dict[str, Any]] = []

    def record(sender: Any = None, **message: Any) -> None:
        seen.append({"task": sender, **message})

    before_task_publish.connect(record, weak=False)
    celery_app.set_default()
    celery_app.set_current()
    try:
        yield seen
    finally:
        before_task_publish.disconnect(record)
        previous.set_default()
        previous.set_current()
        celery_app.close()


def artifacts_dir() -> Path:
    """Where screenshots go: ``$DJANGO_PERIODIC_ARTIFACTS/screenshots`` (default ``artifacts/``)."""
    folder = Path(os.environ.get("DJANGO_PERIODIC_ARTIFACTS") or ROOT / "artifacts") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def launch_chromium() -> Any:
    """Start headless Chromium through Playwright: fail in CI when it cannot, skip elsewhere.

    Returns ``(playwright, browser)``; the caller stops both.
    """
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is not installed (pip install playwright)"
    if problem is None and not Path(CHROMIUM).exists():
        problem = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
    if problem is not None:
        if IN_CI:
            pytest.fail(f"{problem}; CI must provide it", pytrace=False)
        pytest.skip(f"{problem}: install it to run the browser tests (CI runs them)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    return playwright, browser
