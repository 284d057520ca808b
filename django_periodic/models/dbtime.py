"""Datetimes at the database boundary.

Inside django-periodic every datetime is aware UTC. With ``USE_TZ = False`` Django
stores naive datetimes in ``TIME_ZONE``; :func:`from_db` and :func:`to_db` convert
at the boundary, so beat, the admin and the time math behave the same either way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def from_db(value: datetime | None, not_after: datetime | None = None) -> datetime | None:
    """A datetime read from the database, as aware UTC (naive means ``TIME_ZONE``).

    A naive wall time in an hour that the autumn change repeats happened twice; for a
    time known to be past (``not_after``: a last run), it is the later occurrence that is
    not after ``not_after``, so a run made in the second occurrence never reads one hour
    early (and is not sent again). Otherwise the first occurrence, as Django reads it.
    """
    if value is None:
        return None
    if timezone.is_naive(value):
        value = _resolve_fold(value, timezone.get_default_timezone(), not_after)
    return value.astimezone(UTC)


def _resolve_fold(value: datetime, zone: Any, not_after: datetime | None) -> datetime:
    first = value.replace(tzinfo=zone, fold=0)
    if not_after is not None:
        second = value.replace(tzinfo=zone, fold=1)
        if first.utcoffset() != second.utcoffset() and second <= not_after:
            return second
    return first


def aware_utc(value: Any, connection_tz: Any, not_after: datetime | None = None) -> datetime | None:
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
        value = _resolve_fold(value, connection_tz, not_after)
    return from_db(value, not_after)


def key_text(value: Any) -> Any:
    """A value of a natural key as JSON can hold it: text and numbers kept, datetimes
    as ISO 8601 in UTC, anything else (time zones, decimals) as its text."""
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, datetime):
        return from_db(value).isoformat()  # type: ignore[union-attr]
    return str(value)


@overload
def to_db(value: datetime, using: str = ...) -> datetime: ...
@overload
def to_db(value: None, using: str = ...) -> None: ...
def to_db(value: datetime | None, using: str = DEFAULT_DB_ALIAS) -> datetime | None:
    """An aware datetime as database ``using`` expects it (naive ``TIME_ZONE`` without USE_TZ).

    A database that stores instants (PostgreSQL) takes it aware whatever ``USE_TZ``
    says: a naive wall time in a repeated hour would lose which occurrence it was.
    """
    if value is None or settings.USE_TZ or connections[using].features.supports_timezones:
        return value
    return timezone.make_naive(value, timezone.get_default_timezone())
