"""Datetimes at the database boundary.

Inside django-periodic every datetime is aware UTC. With ``USE_TZ = False`` Django
stores naive datetimes in ``TIME_ZONE``; :func:`from_db` and :func:`to_db` convert
at the boundary, so beat, the admin and the time math behave the same either way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def from_db(value: datetime | None) -> datetime | None:
    """A datetime read from the database, as aware UTC (naive means ``TIME_ZONE``)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.astimezone(UTC)


def aware_utc(value: Any, connection_tz: Any) -> datetime | None:
    """A datetime column's value as aware UTC, whether the ORM or the driver read it.

    Naive values are in the connection's time zone (Django's rule for databases
    without time zone support), or in ``TIME_ZONE`` without ``USE_TZ``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is None:
            raise ValueError("a datetime column cannot be read")
    if value.tzinfo is None and connection_tz is not None:
        value = timezone.make_aware(value, connection_tz)
    return from_db(value)


def key_text(value: Any) -> Any:
    """A value of a natural key as JSON can hold it: text and numbers kept, datetimes
    as ISO 8601 in UTC, anything else (time zones, decimals) as its text."""
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, datetime):
        return from_db(value).isoformat()  # type: ignore[union-attr]
    return str(value)


@overload
def to_db(value: datetime) -> datetime: ...
@overload
def to_db(value: None) -> None: ...
def to_db(value: datetime | None) -> datetime | None:
    """An aware datetime as the database expects it (naive ``TIME_ZONE`` without USE_TZ)."""
    if value is None or settings.USE_TZ:
        return value
    return timezone.make_naive(value, timezone.get_default_timezone())
