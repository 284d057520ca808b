"""Admin registration (a first version; the full admin comes with its own work)."""

from __future__ import annotations

from django.contrib import admin

from .models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(admin.ModelAdmin):
    """Periodic tasks."""

    list_display = ("name", "task", "enabled", "last_run_at", "total_run_count")
    list_filter = ("enabled", "one_off", "defined_in_code")
    search_fields = ("name", "task", "description")
    list_select_related = ("interval", "crontab", "solar", "clocked")
    readonly_fields = ("last_run_at", "total_run_count", "load_error", "defined_in_code")
    raw_id_fields = ("interval", "crontab", "solar", "clocked")


for model in (IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    admin.site.register(model)
