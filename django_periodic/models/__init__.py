"""The tables: schedules, periodic tasks and the change tracker.

Names and fields follow django-celery-beat so a project can switch. Validation
runs in ``save()`` as well as in ``full_clean()``, so the ORM cannot store a row
that the admin would refuse and that beat would later have to drop.
"""

from .changes import PeriodicTaskDeletion, PeriodicTasks
from .lease import BeatLease
from .runs import PeriodicTaskRun
from .schedules import (
    DAYS,
    HOURS,
    MICROSECONDS,
    MINUTES,
    PERIOD_CHOICES,
    SECONDS,
    SINGULAR_PERIODS,
    SOLAR_SCHEDULES,
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    ScheduleModel,
    SolarSchedule,
    cronexp,
    crontab_schedule_celery_timezone,
)
from .task import PeriodicTask

__all__ = [
    "DAYS",
    "HOURS",
    "MICROSECONDS",
    "MINUTES",
    "PERIOD_CHOICES",
    "SECONDS",
    "SINGULAR_PERIODS",
    "SOLAR_SCHEDULES",
    "BeatLease",
    "ClockedSchedule",
    "CrontabSchedule",
    "IntervalSchedule",
    "PeriodicTask",
    "PeriodicTaskDeletion",
    "PeriodicTaskRun",
    "PeriodicTasks",
    "ScheduleModel",
    "SolarSchedule",
    "cronexp",
    "crontab_schedule_celery_timezone",
]
