"""Crontab expressions in words, in the active language."""

from __future__ import annotations

from cron_descriptor import ExpressionDescriptor, Options
from django.utils import translation

__all__ = ["describe_crontab"]


def _locale() -> str:
    language = translation.get_language() or "en"
    return translation.to_locale(language)


def describe_crontab(expression: str) -> str:
    """``"0 4 * * *"`` becomes ``"At 04:00"``; the expression itself if that fails."""
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
