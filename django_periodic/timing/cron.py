"""Crontab fields: parsing and validation with Celery's own crontab grammar.

Pure code: no database, no clock. The same parsed sets feed validation, the
scheduler and the admin preview, so what validates is exactly what runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from celery.schedules import ParseException, crontab_parser

__all__ = ["FIELDS", "CronFieldError", "CronSpec", "parse_field"]


@dataclass(frozen=True)
class _Field:
    name: str
    max_: int  # as crontab_parser takes it: values run from min_ to min_ + max_ - 1
    min_: int
    names: str | None  # which names the field accepts: "weekday", "month" or None


FIELDS = {
    "minute": _Field("minute", 60, 0, None),
    "hour": _Field("hour", 24, 0, None),
    "day_of_month": _Field("day_of_month", 31, 1, None),
    "month_of_year": _Field("month_of_year", 12, 1, "month"),
    # 8 values so that 7 parses; 7 is folded onto 0 (both are Sunday, as in cron).
    "day_of_week": _Field("day_of_week", 8, 0, "weekday"),
}

_WEEKDAY_NAMES = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
_MONTH_NAMES = {
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
}
_WORD = re.compile(r"[A-Za-z]+")
_STEP = re.compile(r"/(\w*)")


class CronFieldError(ValueError):
    """A crontab field that Celery's grammar rejects; ``code`` says why."""

    def __init__(self, field: str, value: str, code: str, detail: str = ""):
        self.field, self.value, self.code, self.detail = field, value, code, detail
        super().__init__(f"{field}={value!r}: {code} {detail}".strip())


def _check_words(field: _Field, spec: str) -> None:
    for word in _WORD.findall(spec):
        lowered = word.lower()
        if field.names == "weekday" and lowered[:3] in _WEEKDAY_NAMES:
            continue
        if field.names == "month" and lowered[:3] in _MONTH_NAMES:
            continue
        raise CronFieldError(field.name, spec, "bad_name", word)


def _check_steps(field: _Field, spec: str) -> None:
    for step in _STEP.findall(spec):
        if not step.isdigit():
            raise CronFieldError(field.name, spec, "bad_step", step)
        if int(step) == 0:
            raise CronFieldError(field.name, spec, "zero_step", step)


#: One item of a field, as Celery's grammar reads it: ``*``, a value or a range, and a step.
_ITEM = re.compile(r"^(?:\*|(?P<start>\w+)(?:-(?P<end>\w+))?)(?:/(?P<step>\w+))?$")


def _check_items(field: _Field, spec: str) -> None:
    """Reject, in the field's own terms, the shapes Celery's parser reports in its own
    words (it says "Invalid weekday literal" of a minute ``5/15``)."""
    for item in spec.split(","):
        if not item:
            raise CronFieldError(field.name, spec, "empty_item", "")
        if item.startswith("-") or "--" in item:
            raise CronFieldError(field.name, spec, "negative", item)
        match = _ITEM.match(item)
        if match is None:
            code = "open_range" if item.endswith("-") or "-/" in item else "unreadable_item"
            raise CronFieldError(field.name, spec, code, item)
        if match["step"] is not None and match["start"] is not None and match["end"] is None:
            raise CronFieldError(field.name, spec, "step_without_range", item)


def parse_field(name: str, spec: str) -> frozenset[int]:
    """Expand one crontab field into the set of values it matches.

    Raises :class:`CronFieldError` for anything Celery's parser would not run.
    """
    field = FIELDS[name]
    spec = "".join(str(spec).split()) or "*"
    _check_steps(field, spec)
    _check_words(field, spec)
    _check_items(field, spec)
    try:
        values = crontab_parser(field.max_, field.min_).parse(spec)
    except (ParseException, ValueError, KeyError) as exc:
        raise CronFieldError(name, spec, "out_of_range", str(exc)) from exc
    if name == "day_of_week":
        values = {0 if v == 7 else v for v in values}
    if not values:
        raise CronFieldError(name, spec, "empty", "")
    return frozenset(values)


# Days in each month at most (February as in a leap year), to reject impossible dates.
_MAX_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


@dataclass(frozen=True)
class CronSpec:
    """The five expanded crontab fields, plus whether ``hour`` was restricted."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_week: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    hour_restricted: bool

    @classmethod
    def parse(
        cls,
        minute: str = "*",
        hour: str = "*",
        day_of_week: str = "*",
        day_of_month: str = "*",
        month_of_year: str = "*",
    ) -> CronSpec:
        """Parse the five fields; raises :class:`CronFieldError` on the first bad one."""
        months = parse_field("month_of_year", month_of_year)
        days = parse_field("day_of_month", day_of_month)
        if not any(day <= _MAX_DAYS[month] for month in months for day in days):
            raise CronFieldError("day_of_month", str(day_of_month), "impossible_date", "")
        return cls(
            minutes=tuple(sorted(parse_field("minute", minute))),
            hours=tuple(sorted(parse_field("hour", hour))),
            days_of_week=parse_field("day_of_week", day_of_week),
            days_of_month=days,
            months=months,
            hour_restricted="".join(str(hour).split()) not in ("", "*"),
        )
