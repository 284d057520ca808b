"""Django validators for crontab fields, with messages that name the field and the fix."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
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
