"""Create the demo's sample tasks, each only if it is missing: a restart changes none of them."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from django_periodic.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask


def every_10_seconds():
    every_10s, _ = IntervalSchedule.objects.get_or_create(every=10, period=IntervalSchedule.SECONDS)
    return {
        "task": "testproject.tasks.record_run",
        "interval": every_10s,
        "args": [1, 2],
        "kwargs": {"source": "demo"},
    }


def every_minute_in_berlin():
    minutely, _ = CrontabSchedule.objects.get_or_create(minute="*", timezone="Europe/Berlin")
    return {"task": "testproject.tasks.say", "crontab": minutely, "kwargs": {"message": "hello from crontab"}}


def once_in_15_seconds():
    soon = ClockedSchedule.objects.create(clocked_time=timezone.now() + timedelta(seconds=15))
    return {
        "task": "testproject.tasks.say",
        "clocked": soon,
        "one_off": True,
        "kwargs": {"message": "one-off done"},
    }


#: Name of each sample task, and what makes its fields (schedule included) when it is missing.
SAMPLES = {
    "demo: record every 10 seconds": every_10_seconds,
    "demo: say hello every minute (Berlin time)": every_minute_in_berlin,
    "demo: one-off in 15 seconds": once_in_15_seconds,
}


class Command(BaseCommand):
    help = (
        "Create the sample periodic tasks that are missing: every 10 seconds, every minute in "
        "Berlin, a one-off. Existing ones are left as they are (delete var/demo to start afresh)."
    )

    def handle(self, *args, **options):
        for name, fields in SAMPLES.items():
            if PeriodicTask.objects.filter(name=name).exists():
                self.stdout.write(f"{name}: already there, left as it is")
            else:
                PeriodicTask.objects.create(name=name, **fields())
                self.stdout.write(f"{name}: created")
        self.stdout.write(self.style.SUCCESS(f"{len(SAMPLES)} sample tasks ready."))
