"""The four schedule admins; each shows which tasks use a schedule row.

Deleting a schedule row deletes the tasks that use it (``CASCADE``, as in
django-celery-beat); Django's delete confirmation lists those tasks first.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule


class ScheduleAdmin(admin.ModelAdmin):
    """Shared by the schedule admins: a count of the tasks using each row, and their names."""

    #: Names listed on the change form; beyond this, a link to the filtered task list.
    used_by_listed = 10

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        field = self.model.task_field
        # A correlated subquery: counted for the rows on the page only, no GROUP BY over the table.
        using = (
            PeriodicTask.objects.filter(**{field: OuterRef("pk")})
            .order_by()
            .values(field)
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(task_count=Coalesce(Subquery(using, output_field=IntegerField()), 0))
        )

    def _tasks_url(self, obj: Any) -> str:
        url = reverse(f"{self.admin_site.name}:django_periodic_periodictask_changelist")
        return f"{url}?{self.model.task_field}__id__exact={obj.pk}"

    @admin.display(description=_("Tasks"), ordering="task_count")
    def tasks(self, obj: Any) -> SafeString | int:
        if not obj.task_count:
            return 0
        return format_html('<a href="{}">{}</a>', self._tasks_url(obj), obj.task_count)

    @admin.display(description=_("Used by"))
    def used_by(self, obj: Any) -> SafeString | str:
        if obj is None or obj.pk is None:
            return "-"
        listed = list(obj.tasks.order_by("name").values_list("pk", "name")[: self.used_by_listed])
        if not listed:
            return gettext("No task uses this schedule.")
        count = obj.task_count
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse(f"{self.admin_site.name}:django_periodic_periodictask_change", args=[pk]), name)
                for pk, name in listed
            ),
        )
        more = ""
        if count > len(listed):
            more = format_html(
                ' <a href="{}">{}</a>',
                self._tasks_url(obj),
                ngettext("and %(count)d more", "and %(count)d more", count - len(listed))
                % {"count": count - len(listed)},
            )
        note = ngettext(
            "%(count)d task uses this schedule; deleting the schedule deletes it too.",
            "%(count)d tasks use this schedule; deleting the schedule deletes them too.",
            count,
        ) % {"count": count}
        return format_html("{}{}<br>{}", links, more, note)


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(ScheduleAdmin):
    """Intervals: every N days, hours, minutes, seconds or microseconds."""

    list_display = ("__str__", "every", "period", "tasks")
    list_filter = ("period",)
    search_fields = ("every", "period")
    fields = ("every", "period", "used_by")
    readonly_fields = ("used_by",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Find intervals the way they read: "every 10 seconds", "10 sec", "minutes", "5"."""
        words = [word for word in search_term.lower().split() if word != "every"]
        if not words:
            return queryset, False
        for word in words:
            if word.isascii() and word.isdigit():  # not "²", which isdigit() accepts
                queryset = queryset.filter(every=int(word))
            else:
                queryset = queryset.filter(period__startswith=word.rstrip("s") or word)
        return queryset, False


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(ScheduleAdmin):
    """Crontabs, with the expression in words and the zone they are read in."""

    list_display = ("expression", "words", "timezone", "tasks")
    # The zones the rows use, not the field's choices (every IANA zone, about 600).
    list_filter = (("timezone", admin.AllValuesFieldListFilter),)
    search_fields = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    fields = (
        "minute",
        "hour",
        "day_of_month",
        "month_of_year",
        "day_of_week",
        "timezone",
        "words",
        "used_by",
    )
    readonly_fields = ("words", "used_by")

    @admin.display(description=_("In words"))
    def words(self, obj: CrontabSchedule) -> str:
        if obj.pk is None:
            return "-"
        return str(obj.human_readable)

    @admin.display(description=_("Expression"))
    def expression(self, obj: CrontabSchedule) -> str:
        return obj.expression


@admin.register(SolarSchedule)
class SolarScheduleAdmin(ScheduleAdmin):
    """Solar events at a place."""

    list_display = ("__str__", "event", "latitude", "longitude", "tasks")
    list_filter = ("event",)
    search_fields = ("event", "latitude", "longitude")
    fields = ("event", "latitude", "longitude", "used_by")
    readonly_fields = ("used_by",)


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(ScheduleAdmin):
    """One-off instants."""

    list_display = ("clocked_time", "tasks")
    search_fields = ("clocked_time",)
    fields = ("clocked_time", "used_by")
    readonly_fields = ("used_by",)
