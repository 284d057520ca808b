"""The run ledger in the admin: the runs list, and what a task's page shows of its runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import PeriodicTaskRun
from ..models.runs import RunStatus

#: How many runs a task's page lists, and draws.
RECENT_RUNS = 20

#: The colour of each state in the list and the picture (the admin's own palette).
STATE_COLOURS: dict[str, str] = {
    RunStatus.RECORDED: "#79aec8",
    RunStatus.SENT: "#79aec8",
    RunStatus.STARTED: "#417690",
    RunStatus.RETRIED: "#c49a04",
    RunStatus.SUCCEEDED: "#2e8540",
    RunStatus.FAILED: "#ba2121",
    RunStatus.SKIPPED: "#999999",
    RunStatus.NOT_SENT: "#ba2121",
    RunStatus.LOST: "#c49a04",
}


def state_badge(state: str, reason: str = "") -> SafeString:
    """A run's state as a small coloured label, its reason as the tooltip."""
    label = RunStatus(state).label if state in RunStatus.values else state
    return format_html(
        '<span class="periodic-run-state" title="{}" style="color:#fff;background:{};'
        'border-radius:3px;padding:1px 6px;white-space:nowrap">{}</span>',
        reason,
        STATE_COLOURS.get(state, "#666"),
        label,
    )


def format_duration(duration: timedelta | None) -> str:
    """A run's duration in words a person scans: "850 ms", "12.3 s", "4 min 05 s"."""
    if duration is None:
        return "-"
    seconds = duration.total_seconds()
    if seconds < 1:
        return gettext("%(ms)d ms") % {"ms": round(seconds * 1000)}
    if seconds < 60:
        return gettext("%(s).1f s") % {"s": seconds}
    minutes, rest = divmod(int(seconds), 60)
    return gettext("%(m)d min %(s)02d s") % {"m": minutes, "s": rest}


def with_last_run(queryset: QuerySet) -> QuerySet:
    """Tasks annotated with their latest run's state, reason and duration (one query in all)."""
    latest = PeriodicTaskRun.objects.filter(task=OuterRef("pk")).order_by("-scheduled_at", "-id")
    return queryset.annotate(
        last_state=Subquery(latest.values("state")[:1]),
        last_reason=Subquery(latest.values("reason")[:1]),
        last_duration=Subquery(latest.annotate(took=F("finished_at") - F("started_at")).values("took")[:1]),
    )


def result_link(celery_task_id: str) -> SafeString | str:
    """A link to django-celery-results' record of the run, when that app is installed."""
    if not apps.is_installed("django_celery_results"):
        return ""
    try:
        url = reverse("admin:django_celery_results_taskresult_changelist")
    except NoReverseMatch:
        return ""
    return format_html(
        '<a href="{}?{}">{}</a>', url, urlencode({"task_id": celery_task_id}), gettext("result")
    )


def recent_runs(task: Any) -> SafeString | str:
    """A task's last runs: a picture of outcomes and durations, then a table."""
    runs = list(task.runs.order_by("-scheduled_at", "-id")[:RECENT_RUNS])
    if not runs:
        return gettext("No runs recorded yet.")
    return format_html("{}{}", _picture(runs[::-1]), _table(runs))


def _picture(runs: list[PeriodicTaskRun]) -> SafeString:
    """Bars oldest to newest: height is the duration (relative), colour the outcome."""
    durations = [run.duration.total_seconds() if run.duration else 0.0 for run in runs]
    longest = max(durations) or 1.0
    width, height, gap = 14, 48, 3
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
        (
            (
                index * (width + gap),
                height - max(4, round(height * seconds / longest)),
                width,
                max(4, round(height * seconds / longest)),
                STATE_COLOURS.get(run.state, "#666"),
                _bar_title(run),
            )
            for index, (run, seconds) in enumerate(zip(runs, durations, strict=True))
        ),
    )
    return format_html(
        '<svg class="periodic-run-picture" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}">{}</svg>',
        gettext("Outcomes and durations of the last runs, oldest first"),
        len(runs) * (width + gap),
        height,
        len(runs) * (width + gap),
        height,
        bars,
    )


def _bar_title(run: PeriodicTaskRun) -> str:
    return f"{run.scheduled_at:%Y-%m-%d %H:%M:%S} {run.get_state_display()} {format_duration(run.duration)}"


def _table(runs: list[PeriodicTaskRun]) -> SafeString:
    headers = (
        gettext("Scheduled for"),
        gettext("State"),
        gettext("Duration"),
        gettext("Worker"),
        gettext("Task id"),
    )
    rows = (
        (
            formats.localize(timezone.localtime(run.scheduled_at)),
            state_badge(run.state, run.reason),
            format_duration(run.duration),
            run.worker,
            run.celery_task_id,
        )
        for run in runs
    )
    return format_html(
        '<table class="periodic-recent-runs"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
        format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", rows
        ),
    )


@admin.register(PeriodicTaskRun)
class PeriodicTaskRunAdmin(admin.ModelAdmin):
    """Every run beat sent or skipped, and what became of it. Read-only: beat and the
    workers write it."""

    list_display = (
        "task_name",
        "scheduled_at",
        "state_label",
        "trigger",
        "duration_label",
        "worker",
        "result",
    )
    list_filter = ("state", "trigger", ("scheduled_at", admin.DateFieldListFilter))
    search_fields = ("=celery_task_id", "task_name")
    search_help_text = _("Search by exact Celery task id, or by task name.")
    # The list never counts the whole table: a million runs cost one COUNT of the page's filter.
    show_full_result_count = False
    list_per_page = 50
    date_hierarchy = None
    readonly_fields = [field.name for field in PeriodicTaskRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = super().get_list_display(request)
        if apps.is_installed("django_celery_results"):
            return shown
        return [name for name in shown if name != "result"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("State"), ordering="state")
    def state_label(self, run: PeriodicTaskRun) -> SafeString:
        return state_badge(run.state, run.reason)

    @admin.display(description=_("Duration"))
    def duration_label(self, run: PeriodicTaskRun) -> str:
        return format_duration(run.duration)

    @admin.display(description=_("Result"))
    def result(self, run: PeriodicTaskRun) -> SafeString | str:
        return result_link(run.celery_task_id)
