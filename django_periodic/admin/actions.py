"""Admin actions on periodic tasks: enable, disable, toggle and run now.

Enabling and disabling go through ``QuerySet.update()``, which moves the change
feed, so beat sees them within a poll. "Run now" sends through
:func:`django_periodic.beat.publish.send`, the path beat sends by.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from celery import current_app
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..beat.publish import run_task_id, send, task_options
from ..conf import app_settings
from ..models import PeriodicTaskRun
from ..models.querysets import PeriodicTaskQuerySet, chunks
from ..models.runs import RunStatus, Trigger
from .display import current_time

logger = logging.getLogger(__name__)


@admin.action(description=_("Enable selected periodic tasks"), permissions=("change",))
def enable_tasks(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Enable the selected tasks that are disabled (enabled ones are left as they are)."""
    count = cast(PeriodicTaskQuerySet, queryset).resume()
    message = ngettext(
        "Enabled %(count)d periodic task.",
        "Enabled %(count)d periodic tasks.",
        count,
    )
    modeladmin.message_user(request, message % {"count": count}, messages.SUCCESS)


@admin.action(description=_("Disable selected periodic tasks"), permissions=("change",))
def disable_tasks(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Disable the selected tasks that are enabled, recording who paused them (no reason:
    the change form has a field for one); beat sends nothing more for them."""
    count = cast(PeriodicTaskQuerySet, queryset).pause(by=paused_by(request))
    message = ngettext(
        "Disabled %(count)d periodic task.",
        "Disabled %(count)d periodic tasks.",
        count,
    )
    modeladmin.message_user(request, message % {"count": count}, messages.SUCCESS)


@admin.action(description=_("Toggle selected periodic tasks"), permissions=("change",))
def toggle_tasks(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Enable the disabled ones and disable the enabled ones, in one transaction."""
    enabled, disabled = toggle(cast(PeriodicTaskQuerySet, queryset), by=paused_by(request))
    count = enabled + disabled
    message = ngettext(
        "Toggled %(count)d periodic task: %(enabled)d now enabled, %(disabled)d now disabled.",
        "Toggled %(count)d periodic tasks: %(enabled)d now enabled, %(disabled)d now disabled.",
        count,
    )
    modeladmin.message_user(
        request, message % {"count": count, "enabled": enabled, "disabled": disabled}, messages.SUCCESS
    )


def toggle(queryset: PeriodicTaskQuerySet, by: str = "") -> tuple[int, int]:
    """Flip ``enabled`` on every row of ``queryset``, the ones disabled paused ``by``;
    returns (now enabled, now disabled)."""
    with transaction.atomic(using=queryset.db):
        was_enabled = list(queryset.filter(enabled=True).values_list("pk", flat=True))
        enabled = queryset.resume()
        rows = queryset.model._default_manager.using(queryset.db)
        disabled = sum(rows.filter(pk__in=chunk).pause(by=by) for chunk in chunks(was_enabled))
    return enabled, disabled


def paused_by(request: HttpRequest | None) -> str:
    """Who a pause from the admin is recorded for: the user's name."""
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else ""


@admin.action(description=_("Run selected periodic tasks now"), permissions=("change",))
def run_tasks_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Send each selected task once, now, with all its options, as beat would send it.

    Tasks this web process does not import are sent by name. The run state
    (last run, run count) is beat's and stays as it is.
    """
    now = current_time()
    sent: list[str] = []
    failed: list[str] = []
    for task in queryset:
        task_id = run_task_id(task.pk, now)
        run = _record_run_now(task, task_id, now)
        try:
            send(
                getattr(modeladmin, "celery_app", current_app),
                task.task,
                list(task.args),
                dict(task.kwargs),
                task_options(task),
                task_id=task_id,
            )
        except Exception as exc:  # broker errors differ per transport: report each, send the rest
            logger.warning("Run now of periodic task %r (%s) failed: %s", task.name, task.task, exc)
            failed.append(gettext("“%(name)s”: %(error)s") % {"name": task.name, "error": exc})
            _account(run, state=RunStatus.NOT_SENT, reason=f"run now failed: {exc}"[:255], finished_at=now)
            continue
        _account(run, state=RunStatus.SENT, sent_at=now)
        sent.append(_describe_sent(task, task_id))
    if sent:
        message = ngettext(
            "Sent %(count)d periodic task to run now: %(runs)s.",
            "Sent %(count)d periodic tasks to run now: %(runs)s.",
            len(sent),
        )
        modeladmin.message_user(
            request, message % {"count": len(sent), "runs": "; ".join(sent)}, messages.SUCCESS
        )
    if failed:
        message = ngettext(
            "Could not send %(count)d periodic task: %(errors)s.",
            "Could not send %(count)d periodic tasks: %(errors)s.",
            len(failed),
        )
        modeladmin.message_user(
            request, message % {"count": len(failed), "errors": "; ".join(failed)}, messages.ERROR
        )


def _describe_sent(task: Any, task_id: str) -> str:
    params = {"name": task.name, "task": task.task, "id": task_id, "queue": task.queue}
    if task.queue:
        return gettext("“%(name)s” as %(task)s to queue %(queue)s, task id %(id)s") % params
    return gettext("“%(name)s” as %(task)s, task id %(id)s") % params


def _record_run_now(task: Any, task_id: str, now: datetime) -> PeriodicTaskRun | None:
    """The run's ledger row, written before the message goes out (as beat does)."""
    if not app_settings.RUN_LEDGER:
        return None
    return PeriodicTaskRun.objects.create(
        task=task,
        task_name=task.name,
        scheduled_at=now,
        celery_task_id=task_id,
        trigger=Trigger.RUN_NOW,
        recorded_at=now,
    )


def _account(run: PeriodicTaskRun | None, **values: Any) -> None:
    """What became of a "run now" send; a worker's faster "started" is never overwritten."""
    if run is not None:
        PeriodicTaskRun.objects.filter(pk=run.pk, state=RunStatus.RECORDED).update(**values)
