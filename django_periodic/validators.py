"""django-celery-beat's ``validators`` names (compatibility): see :mod:`.models.validators`."""

from .models.validators import (
    crontab_validator,
    day_of_month_validator,
    day_of_week_validator,
    hour_validator,
    minute_validator,
    month_of_year_validator,
)

__all__ = [
    "crontab_validator",
    "day_of_month_validator",
    "day_of_week_validator",
    "hour_validator",
    "minute_validator",
    "month_of_year_validator",
]
