"""Crontab expressions in words, in the active language."""

from __future__ import annotations

from cron_descriptor import ExpressionDescriptor, Options
from django.utils import translation

from .cron import CronFieldError, CronSpec

__all__ = ["describe_crontab"]


def _locale() -> str:
    language = translation.get_language() or "en"
    return translation.to_locale(language)


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
        return str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # cron-descriptor raises many kinds; words are a nicety, never fatal
        try:
            options.locale_code = "en_US"
            return str(ExpressionDescriptor(expression, options).get_description())
        except Exception:
            return expression


def _celery_order(expression: str) -> tuple[str, ...]:
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    return minute, hour, day_of_week, day_of_month, month_of_year
