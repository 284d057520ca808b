"""App configuration: the one place with import-time side effects."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils.translation import gettext_lazy as _


class DjangoPeriodicConfig(AppConfig):
    """Connects the change-feed signals and registers the system checks."""

    name = "django_periodic"
    label = "django_periodic"
    verbose_name = _("Periodic tasks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks as periodic_checks
        from .models import (
            ClockedSchedule,
            CrontabSchedule,
            IntervalSchedule,
            PeriodicTask,
            PeriodicTasks,
            SolarSchedule,
            signals,
        )

        post_delete.connect(
            signals.record_task_deletion, sender=PeriodicTask, dispatch_uid="django_periodic.task_deleted"
        )
        post_save.connect(
            signals.restamp_loaded_task, sender=PeriodicTask, dispatch_uid="django_periodic.task_loaded"
        )
        pre_save.connect(
            signals.keep_loaded_counter_ahead,
            sender=PeriodicTasks,
            dispatch_uid="django_periodic.counter_loaded",
        )
        for model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
            pre_save.connect(
                signals.lock_counter_before_loaded_row,
                sender=model,
                dispatch_uid=f"django_periodic.{model._meta.model_name}_loading",
            )
        for model in (IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
            post_save.connect(
                signals.restamp_loaded_schedule,
                sender=model,
                dispatch_uid=f"django_periodic.{model._meta.model_name}_loaded",
            )
        from celery import signals as task_signals

        from . import workers

        task_signals.task_prerun.connect(workers.run_started, dispatch_uid="django_periodic.run_started")
        task_signals.task_success.connect(workers.run_succeeded, dispatch_uid="django_periodic.run_succeeded")
        task_signals.task_failure.connect(workers.run_failed, dispatch_uid="django_periodic.run_failed")
        task_signals.task_retry.connect(workers.run_retried, dispatch_uid="django_periodic.run_retried")
        checks.register(periodic_checks.check_django_celery_beat, "django_periodic")
        checks.register(periodic_checks.check_beat_scheduler, "django_periodic")
        checks.register(periodic_checks.check_metrics, "django_periodic")
