"""The Django admin of django_periodic: tasks with a preview of their runs, and schedules."""

from .runs import PeriodicTaskRunAdmin
from .schedules import (
    ClockedScheduleAdmin,
    CrontabScheduleAdmin,
    IntervalScheduleAdmin,
    ScheduleAdmin,
    SolarScheduleAdmin,
)
from .tasks import PeriodicTaskAdmin

__all__ = [
    "ClockedScheduleAdmin",
    "CrontabScheduleAdmin",
    "IntervalScheduleAdmin",
    "PeriodicTaskAdmin",
    "PeriodicTaskRunAdmin",
    "ScheduleAdmin",
    "SolarScheduleAdmin",
]
