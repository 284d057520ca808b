"""The periodic task admin: list, form, preview of the next runs, actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import current_app
from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timeuntil
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..models import PeriodicTask
from ..models.querysets import SCHEDULE_FIELDS, PeriodicTaskQuerySet
from . import actions as task_actions
from . import display, runs
from .filters import ScheduleTypeFilter
from .forms import PeriodicTaskForm
from .widgets import unknown_task_warning

#: The run state beat owns, shown but never edited here.
RUN_STATE_FIELDS = ("last_run_at", "total_run_count", "defined_in_code", "load_error", "date_changed")
PREVIEW_FIELDS = ("schedule_words", "schedule_zone", "next_runs")
RUNS_FIELDS = ("recent_runs",)
#: The longest reason the task list shows in full (the rest is in its tooltip).
SHORT_REASON = 60


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(admin.ModelAdmin):
    """Periodic tasks: what runs, when next, and the actions an operator needs."""

    form = PeriodicTaskForm
    # What a person scans first, narrow enough for 1,280 pixels beside the filters; the
    # Celery task's dotted name is in the filters, the search and the form.
    list_display = (
        "name",
        "schedule_words",
        "enabled_state",
        "next_run",
        "last_run",
        "last_status",
        "last_duration",
    )
    list_display_links = ("name",)
    list_filter = (
        "enabled",
        ScheduleTypeFilter,
        "task",
        "queue",
        "one_off",
        "defined_in_code",
    )
    list_select_related = SCHEDULE_FIELDS
    search_fields = ("name", "task", "description")
    search_help_text = _("Search by name, task or description.")
    ordering = ("name",)
    # A filtered page counts its own rows only; a second COUNT(*) of the whole table
    # costs much and tells little on a table of 100,000 tasks.
    show_full_result_count = False
    autocomplete_fields = SCHEDULE_FIELDS
    readonly_fields = ("pause_record", *PREVIEW_FIELDS, *RUN_STATE_FIELDS, *RUNS_FIELDS)
    actions = (
        task_actions.enable_tasks,
        task_actions.disable_tasks,
        task_actions.toggle_tasks,
        task_actions.run_tasks_now,
    )
    #: The Celery app "run now" sends through (django-celery-beat has this attribute too).
    celery_app = current_app
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "task",
                    "enabled",
                    "pause_record",
                    "paused_reason",
                    "description",
                    "opened_run_count",
                )
            },
        ),
        (
            _("Schedule"),
            {"fields": ("schedule_type", *SCHEDULE_FIELDS, "one_off", "start_time", "expires")},
        ),
        (_("Next runs"), {"fields": PREVIEW_FIELDS}),
        (
            _("Late, missed and overlapping runs"),
            {
                "fields": (
                    "grace_seconds",
                    "missed_runs",
                    "missed_runs_limit",
                    "jitter_seconds",
                    "overlap",
                    "overlap_timeout",
                )
            },
        ),
        (_("Arguments"), {"fields": ("args", "kwargs")}),
        (
            _("Message options"),
            {
                "fields": (
                    "queue",
                    "exchange",
                    "routing_key",
                    "priority",
                    "expire_seconds",
                    "headers",
                    "options",
                )
            },
        ),
        (_("Run state"), {"fields": RUN_STATE_FIELDS}),
        (_("Recent runs"), {"fields": RUNS_FIELDS}),
    )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in SCHEDULE_FIELDS and formfield is not None:
            formfield.widget.attrs["data-width"] = "34em"  # room for a crontab and its zone
        return formfield

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The change form shows the schedule in words: fetch its row with the task; the
        # list shows each task's last run, read in the same query.
        return runs.with_last_run(super().get_queryset(request).select_related(*SCHEDULE_FIELDS))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(self.fieldsets)
        if obj is None or obj.paused_at is None:  # who paused it: only for a task that is paused
            name, opts = fieldsets[0]
            fieldsets[0] = (name, {**opts, "fields": tuple(f for f in opts["fields"] if f != "pause_record")})
        if obj is None:  # nothing to preview and no run state before the first save
            hidden = {PREVIEW_FIELDS, RUN_STATE_FIELDS, RUNS_FIELDS}
            return [(name, opts) for name, opts in fieldsets if opts["fields"] not in hidden]
        return fieldsets

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Disabling here, or giving a disabled task a reason, records who paused it and when;
        # enabling clears the record (PeriodicTask.save()).
        if not obj.enabled and {"enabled", "paused_reason"} & set(form.changed_data):
            obj.paused_at, obj.paused_by = timezone.now(), task_actions.paused_by(request)
        super().save_model(request, obj, form, change)
        if getattr(form, "kept_disabled", False):
            message = gettext(
                "Beat ran this task while the form was open and ended it: it stays disabled. "
                "Enable it again to run it once more."
            )
            self.message_user(request, message, messages.WARNING)
        if "_continue" not in request.POST and (warning := unknown_task_warning(obj.task)):
            self.message_user(request, warning, messages.WARNING)  # else the form shows it again

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and request.method == "GET" and (warning := unknown_task_warning(obj.task)):
            self.message_user(request, warning, messages.WARNING)
        if obj is not None and obj.load_error:
            message = gettext("Beat could not load this task: %(reason)s") % {"reason": obj.load_error}
            self.message_user(request, message, messages.WARNING)
        if obj is not None and obj.defined_in_code:
            message = gettext(
                "This task comes from the beat_schedule setting: at its next start beat "
                "overwrites the fields set there."
            )
            self.message_user(request, message, messages.INFO)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # -- django-celery-beat's action methods, for code that calls them on the admin --

    def enable_tasks(self, request: HttpRequest, queryset: PeriodicTaskQuerySet) -> None:
        """Enable the selected tasks (the "enable" action)."""
        task_actions.enable_tasks(self, request, queryset)

    def disable_tasks(self, request: HttpRequest, queryset: PeriodicTaskQuerySet) -> None:
        """Disable the selected tasks (the "disable" action)."""
        task_actions.disable_tasks(self, request, queryset)

    def toggle_tasks(self, request: HttpRequest, queryset: PeriodicTaskQuerySet) -> None:
        """Flip the selected tasks between enabled and disabled (the "toggle" action)."""
        task_actions.toggle_tasks(self, request, queryset)

    def _toggle_tasks_activity(self, queryset: PeriodicTaskQuerySet) -> int:
        """Flip ``enabled`` on every row, with no message; returns how many rows changed."""
        enabled, disabled = task_actions.toggle(queryset)
        return enabled + disabled

    def run_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Send the selected tasks once, now (the "run now" action)."""
        task_actions.run_tasks_now(self, request, queryset)

    # -- columns and read-only fields ---------------------------------------------

    @admin.display(description=_("Schedule"))
    def schedule_words(self, obj: PeriodicTask) -> str:
        return display.schedule_words(obj)

    @admin.display(description=_("Enabled"), ordering="enabled")
    def enabled_state(self, obj: PeriodicTask) -> SafeString:
        """The enabled icon; for a paused task, who paused it and why (all of it on hover)."""
        icon = display_for_value(obj.enabled, "", boolean=True)
        if obj.enabled or obj.paused_at is None:
            return format_html("{}", icon)
        reason = obj.paused_reason
        short = reason if len(reason) <= SHORT_REASON else reason[: SHORT_REASON - 1] + "…"
        return format_html(
            '{} <small class="periodic-paused" title="{}">{}</small>',
            icon,
            _pause_words(obj, reason, with_time=True),
            _pause_words(obj, short, with_time=False),
        )

    @admin.display(description=_("Paused"))
    def pause_record(self, obj: PeriodicTask) -> str:
        if obj.enabled or obj.paused_at is None:
            return "-"
        return _pause_words(obj, "", with_time=True)

    @admin.display(description=_("Time zone"))
    def schedule_zone(self, obj: PeriodicTask) -> str:
        return display.zone_name(display.schedule_zone(obj))

    @admin.display(description=_("Next run"))
    def next_run(self, obj: PeriodicTask) -> datetime | None:
        return display.next_run(obj, display.current_time())

    @admin.display(description=_("Last run"), ordering="last_run_at")
    def last_run(self, obj: PeriodicTask) -> datetime | None:
        return obj.last_run_at

    @admin.display(description=_("Last status"), ordering="last_state")
    def last_status(self, obj: PeriodicTask) -> SafeString | str:
        state = getattr(obj, "last_state", None)
        return runs.state_badge(state, obj.last_reason or "") if state else "-"  # type: ignore[attr-defined]

    @admin.display(description=_("Last duration"))
    def last_duration(self, obj: PeriodicTask) -> str:
        return runs.format_duration(getattr(obj, "last_duration", None))

    @admin.display(description=_("Recent runs"))
    def recent_runs(self, obj: PeriodicTask) -> SafeString | str:
        return runs.recent_runs(obj)

    @admin.display(description=_("Next runs"))
    def next_runs(self, obj: PeriodicTask) -> SafeString | str:
        if not obj.enabled:
            return gettext("Disabled: beat sends nothing until the task is enabled.")
        now = display.current_time()
        try:
            runs = display.upcoming(obj, now)
        except Exception as exc:  # show why, rather than break the page
            return gettext("The next runs cannot be computed: %(error)s") % {"error": exc}
        if not runs:
            return gettext("No further runs: the task has expired or its one run is done.")
        return _runs_table(runs, display.schedule_zone(obj), now)


def _runs_table(runs: list[datetime], zone: Any, now: datetime) -> SafeString:
    """The runs in the schedule's zone and the site's (one column when they are the same)."""
    site_zone = timezone.get_current_timezone()
    zones = [zone]
    if display.zone_name(site_zone) != display.zone_name(zone):
        zones.append(site_zone)
    headers = [gettext("In %(zone)s") % {"zone": display.zone_name(z)} for z in zones]
    headers.append(gettext("From now"))
    rows = ([display.when(run, z) for z in zones] + [_from_now(run, now)] for run in runs)
    return format_html(
        '<table class="periodic-next-runs"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
        format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
        ),
    )


def _from_now(run: datetime, now: datetime) -> str:
    """How far off a run is: "due now", "10 seconds", "2 hours, 30 minutes"."""
    if run <= now:
        return gettext("due now")
    seconds = int((run - now).total_seconds())
    if seconds < 60:  # timeuntil() counts in minutes at best
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    return timeuntil(run, now)


def _pause_words(task: PeriodicTask, reason: str, with_time: bool) -> str:
    """Words for a pause: "Paused by alice on Tue 2026-03-03 09:00:00 UTC: feed down", or shorter."""
    params = {"who": task.paused_by, "when": display.when(task.paused_at) if with_time else ""}  # type: ignore[arg-type]
    if task.paused_by:
        text = gettext("Paused by %(who)s on %(when)s") if with_time else gettext("Paused by %(who)s")
    else:
        text = gettext("Paused on %(when)s") if with_time else gettext("Paused")
    text = text % params
    return gettext("%(pause)s: %(reason)s") % {"pause": text, "reason": reason} if reason else text
