"""The rules a periodic task row obeys: as database constraints, and as validation errors.

The constraints hold whatever writes the row; the errors say the same in a form's words,
naming the field and the fix.
"""

from __future__ import annotations

from typing import Any

from django.core import exceptions
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .querysets import SCHEDULE_FIELDS
from .validators import time_options

TASK_CONSTRAINTS: list[models.BaseConstraint] = [
    models.CheckConstraint(
        condition=(
            Q(interval__isnull=False, crontab__isnull=True, solar__isnull=True, clocked__isnull=True)
            | Q(interval__isnull=True, crontab__isnull=False, solar__isnull=True, clocked__isnull=True)
            | Q(interval__isnull=True, crontab__isnull=True, solar__isnull=False, clocked__isnull=True)
            | Q(interval__isnull=True, crontab__isnull=True, solar__isnull=True, clocked__isnull=False)
        ),
        name="django_periodic_task_one_schedule",
        violation_error_message=_("Set exactly one of interval, crontab, solar or clocked."),
    ),
    models.CheckConstraint(
        condition=Q(clocked__isnull=True) | Q(one_off=True),
        name="django_periodic_task_clocked_one_off",
        violation_error_message=_("A clocked task runs once: tick one_off."),
    ),
    models.CheckConstraint(
        condition=Q(expires__isnull=True) | Q(expire_seconds__isnull=True),
        name="django_periodic_task_one_expiry",
        violation_error_message=_("Set expires or expire_seconds, not both."),
    ),
    models.CheckConstraint(
        condition=Q(priority__isnull=True) | Q(priority__lte=255),
        name="django_periodic_task_priority_range",
        violation_error_message=_("Priority must be between 0 and 255."),
    ),
    models.CheckConstraint(
        condition=~Q(name="") & ~Q(task=""),
        name="django_periodic_task_names_given",
        violation_error_message=_("Give the periodic task a name and the Celery task to run."),
    ),
]


def task_errors(task: Any) -> dict[str, list[ValidationError]]:
    """The rules that span fields, as errors by field (what ``PeriodicTask.clean`` raises)."""
    errors: dict[str, list[ValidationError]] = {}
    chosen = [name for name in SCHEDULE_FIELDS if getattr(task, f"{name}_id") is not None]
    if not chosen:
        errors.setdefault("__all__", []).append(
            ValidationError(
                _("Choose a schedule: set one of interval, crontab, solar or clocked."),
                code="no_schedule",
            )
        )
    elif len(chosen) > 1:
        for name in chosen:
            errors.setdefault(name, []).append(
                ValidationError(
                    _("Only one schedule can be set; %(fields)s are all set. Keep one, clear the others."),
                    code="several_schedules",
                    params={"fields": ", ".join(chosen)},
                )
            )
    if task.clocked_id is not None and not task.one_off:
        errors.setdefault("one_off", []).append(
            ValidationError(
                _("A clocked schedule runs once: tick one_off."),
                code="clocked_not_one_off",
            )
        )
    if isinstance(task.options, dict):
        try:
            time_options(task.options)
        except ValidationError as exc:
            errors.setdefault("options", []).append(exc)
    if task.expires is not None and task.expire_seconds is not None:
        errors.setdefault("expire_seconds", []).append(
            ValidationError(
                _("Set expires (a date) or expire_seconds (a duration), not both."),
                code="two_expiries",
            )
        )
    return errors


def fields_to_write(task: Any) -> set[str] | None:
    """The fields a plain ``save()`` of ``task`` writes: all but what beat writes, unless
    this instance changed it.

    Beat writes ``last_run_at`` and ``total_run_count`` while a form is open, and
    ``enabled = False`` when a one-off or clocked task ran or a task expired; writing
    the values read when the form opened would rewind them and make beat send a run again.
    """
    loaded = getattr(task, "_loaded_run_state", None)
    if task._state.adding or loaded is None:
        return None
    fields = {f.attname for f in task._meta.concrete_fields if not f.primary_key}
    for name, was in zip(("last_run_at", "total_run_count", "enabled"), loaded, strict=True):
        if getattr(task, name) == was:
            fields.discard(name)
    return fields


def no_row_updated(exc: DatabaseError) -> bool:
    """Whether ``exc`` is Django's "save with update_fields did not affect any rows"."""
    not_updated = getattr(exceptions, "ObjectNotUpdated", None)  # Django 6.0+
    return (not_updated is not None and isinstance(exc, not_updated)) or "did not affect any rows" in f"{exc}"
