"""A shifted clock for end-to-end tests: real time plus ``TESTPROJECT_CLOCK_OFFSET`` seconds."""

import os
from datetime import UTC, datetime, timedelta

_OFFSET = timedelta(seconds=float(os.environ.get("TESTPROJECT_CLOCK_OFFSET", "0")))


def now():
    """The shifted current time (aware UTC)."""
    return datetime.now(UTC) + _OFFSET
