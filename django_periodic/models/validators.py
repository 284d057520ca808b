"""Django validators for crontab fields, with messages that name the field and the fix."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from ..timing.cron import CronFieldError, CronSpec, parse_field

_HINTS = {
    "minute": _("Use 0-59, '*', lists (0,30), ranges (0-15) or steps (*/15)."),
    "hour": _("Use 0-23, '*', lists (8,20), ranges (9-17) or steps (*/2)."),
    "day_of_month": _("Use 1-31, '*', lists, ranges or steps."),
    "month_of_year": _("Use 1-12 or names (jan-dec), '*', lists, ranges or steps."),
    "day_of_week": _("Use 0-7 (0 and 7 are Sunday) or names (sun-sat), '*', lists, ranges or steps."),
}
_PROBLEMS = {
    "bad_name": _("'%(value)s' is not a valid %(field)s: the name '%(detail)s' is not allowed here."),
    "bad_step": _("'%(value)s' is not a valid %(field)s: the step '%(detail)s' must be a whole number."),
    "zero_step": _("'%(value)s' is not a valid %(field)s: a step of zero never matches."),
    "out_of_range": _("'%(value)s' is not a valid %(field)s: %(detail)s is out of range."),
    "unreadable": _("'%(value)s' is not a valid %(field)s."),
    "empty_item": _("'%(value)s' is not a valid %(field)s: there is an empty item between two commas."),
    "negative": _("'%(value)s' is not a valid %(field)s: '%(detail)s' is negative or has a stray '-'."),
    "open_range": _("'%(value)s' is not a valid %(field)s: the range '%(detail)s' has no end."),
    "unreadable_item": _(
        "'%(value)s' is not a valid %(field)s: '%(detail)s' is not a value, a range (1-5) or a step (*/5)."
    ),
    "step_without_range": _(
        "'%(value)s' is not a valid %(field)s: a step such as '%(detail)s' needs '*' or a range before "
        "the '/', e.g. '*/15' or '5-59/15'."
    ),
    "empty": _("'%(value)s' is not a valid %(field)s: it matches nothing."),
    "impossible_date": _("'%(value)s' is not a valid %(field)s: no month in month_of_year has such a day."),
}


#: The number in Celery's (English, untranslated) range errors, such as "Invalid end range: 61 > 59.".
_RANGE_NUMBER = re.compile(r"range: (-?\d+) [<>]")


def cron_error(exc: CronFieldError) -> ValidationError:
    """The translated ValidationError for a :class:`CronFieldError`."""
    problem, detail = exc.code, exc.detail
    if problem == "out_of_range":
        # Celery's parser says "out of range" for bad syntax too ("empty part",
        # "Invalid weekday literal '5-'."): name the number when there is one.
        number = _RANGE_NUMBER.search(detail)
        problem, detail = ("out_of_range", number.group(1)) if number else ("unreadable", "")
    return ValidationError(
        "%(problem)s %(hint)s",
        code=f"crontab_{exc.code}",
        params={
            "problem": _PROBLEMS[problem] % {"value": exc.value, "field": exc.field, "detail": detail},
            "hint": _HINTS[exc.field],
        },
    )


def _field_validator(name: str):  # type: ignore[no-untyped-def]
    def validate(value: str) -> None:
        try:
            parse_field(name, value)
        except CronFieldError as exc:
            raise cron_error(exc) from exc

    validate.__name__ = f"{name}_validator"
    validate.__qualname__ = validate.__name__
    return validate


minute_validator = _field_validator("minute")
hour_validator = _field_validator("hour")
day_of_month_validator = _field_validator("day_of_month")
month_of_year_validator = _field_validator("month_of_year")
day_of_week_validator = _field_validator("day_of_week")


def crontab_validator(value: str) -> None:
    """Validate a whole five-field expression: ``minute hour day_of_month month day_of_week``."""
    parts = str(value).split()
    if len(parts) != 5:
        raise ValidationError(
            _(
                "'%(value)s' is not a crontab expression: write five fields, "
                "minute hour day_of_month month_of_year day_of_week."
            ),
            code="crontab_fields",
            params={"value": value},
        )
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    try:
        CronSpec.parse(minute, hour, day_of_week, day_of_month, month_of_year)
    except CronFieldError as exc:
        raise cron_error(exc) from exc


#: The ``apply_async`` options that hold a time, and what each must be.
_TIME_OPTIONS = {
    "expires": _("a number of seconds or an ISO 8601 date and time"),
    "eta": _("an ISO 8601 date and time"),
    "countdown": _("a number of seconds"),
}
#: The longest delay a time option may give (Celery adds it to now; beyond the year 9999 it raises).
MAX_OPTION_SECONDS = 100 * 365 * 24 * 3600


def time_option(name: str, value: Any) -> datetime | float | None:
    """``value`` of the time option ``name`` as Celery takes it (an aware datetime, or seconds).

    Raises ValidationError naming the option and what it must be (also used by beat for
    rows written around validation, so one bad option never reaches the broker).
    """
    if value is None:
        return None
    try:
        read = _read_time_option(name, value)
    except (ValueError, OverflowError, TypeError):  # "2026-02-30", an offset of +24:00, 10**400
        read = None
    if read is not None:
        return read
    raise ValidationError(
        _("options: %(option)s=%(value)s cannot be used: it must be %(kind)s (at most 100 years away)."),
        code="bad_time_option",
        params={"option": name, "value": json.dumps(value, default=str), "kind": _TIME_OPTIONS[name]},
    )


def _read_time_option(name: str, value: Any) -> datetime | float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and name in ("expires", "countdown"):
        if math.isfinite(value) and -MAX_OPTION_SECONDS <= value <= MAX_OPTION_SECONDS:
            return value
    elif isinstance(value, str) and name != "countdown":
        parsed = parse_datetime(value)
        if parsed is not None and parsed.year < 9999:
            return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
    return None


def time_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with each time option read by :func:`time_option` (ValidationError if one is bad)."""
    read = dict(options)
    for name in _TIME_OPTIONS.keys() & options.keys():
        read[name] = time_option(name, options[name])
    return read
