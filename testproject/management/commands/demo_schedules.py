"""Create the demo's sample schedules (idempotent)."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from django_periodic.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask


class Command(BaseCommand):
    help = "Create sample periodic tasks: every 10 seconds, every minute in Berlin, a one-off."

    def handle(self, *args, **options):
        every_10s, _ = IntervalSchedule.objects.get_or_create(every=10, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.update_or_create(
            name="demo: record every 10 seconds",
            defaults={
                "task": "testproject.tasks.record_run",
                "interval": every_10s,
                "args": [1, 2],
                "kwargs": {"source": "demo"},
                "enabled": True,
            },
        )
        minutely, _ = CrontabSchedule.objects.get_or_create(minute="*", timezone="Europe/Berlin")
        PeriodicTask.objects.update_or_create(
            name="demo: say hello every minute (Berlin time)",
            defaults={
                "task": "testproject.tasks.say",
                "crontab": minutely,
                "kwargs": {"message": "hello from crontab"},
                "enabled": True,
            },
        )
        soon = ClockedSchedule.objects.create(clocked_time=timezone.now() + timedelta(seconds=15))
        PeriodicTask.objects.filter(name="demo: one-off in 15 seconds").delete()
        PeriodicTask.objects.create(
            name="demo: one-off in 15 seconds",
            task="testproject.tasks.say",
            clocked=soon,
            one_off=True,
            kwargs={"message": "one-off done"},
        )
        self.stdout.write(self.style.SUCCESS(f"{PeriodicTask.objects.count()} periodic tasks ready."))
