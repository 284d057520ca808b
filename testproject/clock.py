"""A moved clock for end-to-end tests (never used unless a test sets these variables).

TESTPROJECT_CLOCK_OFFSET  seconds added to the real time
TESTPROJECT_CLOCK_START   an ISO instant the clock shows when the process starts
TESTPROJECT_CLOCK_SPEED   how many clock seconds pass per real second (default 1)
"""

import os
import time
from datetime import UTC, datetime, timedelta

_OFFSET = timedelta(seconds=float(os.environ.get("TESTPROJECT_CLOCK_OFFSET", "0")))
_START = os.environ.get("TESTPROJECT_CLOCK_START")
_SPEED = float(os.environ.get("TESTPROJECT_CLOCK_SPEED", "1"))
_BASE = time.monotonic()
_ORIGIN = datetime.fromisoformat(_START) if _START else None


def now():
    """The moved current time (aware UTC)."""
    if _ORIGIN is not None:
        return _ORIGIN + timedelta(seconds=(time.monotonic() - _BASE) * _SPEED)
    return datetime.now(UTC) + _OFFSET
