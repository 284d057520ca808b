"""Change list filters of the periodic task admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..models.querysets import SCHEDULE_FIELDS


class ScheduleTypeFilter(admin.SimpleListFilter):
    """Tasks by the kind of schedule they use: interval, crontab, solar or clocked."""

    title = _("schedule type")
    parameter_name = "schedule_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        opts = model_admin.model._meta
        return [
            (kind, capfirst(opts.get_field(kind).related_model._meta.verbose_name))
            for kind in SCHEDULE_FIELDS
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        kind = self.value()
        if kind in SCHEDULE_FIELDS:
            return queryset.filter(**{f"{kind}__isnull": False})
        return None
