"""Crontab expressions in words, in the active language."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import cron_descriptor
from cron_descriptor import ExpressionDescriptor, Options
from django.utils import translation
from django.utils.dates import MONTHS, WEEKDAYS

from .cron import CronFieldError, CronSpec

__all__ = ["describe_crontab"]

WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _locale() -> str:
    """cron-descriptor's catalogue for the active language: "de" -> "de_DE", "pt-br" -> "pt_PT"."""
    locale = translation.to_locale(translation.get_language() or "en")
    available = _catalogues()
    if locale in available:
        return locale
    language = locale.split("_")[0]
    if language == "zh":
        return "zh_TW" if locale.lower() in ("zh_hant", "zh_tw", "zh_hk") else "zh_CN"
    return next((code for code in sorted(available) if code.split("_")[0] == language), "en_US")


@functools.cache
def _catalogues() -> frozenset[str]:
    folder = Path(cron_descriptor.__file__).parent / "locale"
    return frozenset(path.stem for path in folder.glob("*.mo"))


def describe_crontab(expression: str) -> str:
    """``"0 4 * * *"`` becomes ``"At 04:00"``; the expression itself if that fails."""
    try:
        CronSpec.parse(*_celery_order(expression))
    except (CronFieldError, TypeError):
        return expression
    options = Options()
    options.use_24hour_time_format = True
    options.locale_code = _locale()
    try:
        return _translate_names(str(ExpressionDescriptor(expression, options).get_description()))
    except Exception:  # cron-descriptor raises many kinds; words are a nicety, never fatal
        try:
            options.locale_code = "en_US"
            return str(ExpressionDescriptor(expression, options).get_description())
        except Exception:
            return expression


def _celery_order(expression: str) -> tuple[str, ...]:
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    return minute, hour, day_of_week, day_of_month, month_of_year


_NAMES = re.compile(r"\b(" + "|".join([*WEEKDAYS_EN, *MONTHS_EN]) + r")\b")


def _translate_names(text: str) -> str:
    """cron-descriptor translates its sentences but leaves day and month names in English."""
    if (translation.get_language() or "en").startswith("en"):
        return text
    names = {
        **dict(zip(WEEKDAYS_EN, WEEKDAYS.values(), strict=True)),
        **dict(zip(MONTHS_EN, MONTHS.values(), strict=True)),
    }
    return _NAMES.sub(lambda match: str(names[match.group(0)]), text)
