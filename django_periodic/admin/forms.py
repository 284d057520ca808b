"""The periodic task form: JSON fields that say what is wrong, a schedule chosen by type."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminRadioSelect
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput, JSONString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..models import PeriodicTask
from ..models.querysets import SCHEDULE_FIELDS
from .widgets import TaskNameWidget

__all__ = ["JSONDictFormField", "JSONListFormField", "PeriodicTaskForm"]


def _json_kind(value: Any) -> Any:
    """What a decoded JSON value is, in words ("an object", "a string" ...)."""
    if isinstance(value, dict):
        return _("an object")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, str):
        return _("a string")
    if isinstance(value, bool):
        return _("true or false")
    if isinstance(value, int | float):
        return _("a number")
    return _("null")


class _JSONContainerFormField(forms.JSONField):
    """A JSON field that accepts one container type and reports where bad JSON breaks."""

    container: type = object
    default_error_messages = {
        "invalid": _("Enter valid JSON: %(error)s at line %(line)s, column %(column)s."),
    }
    type_message: Any = ""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "cols": 60, "class": "vLargeTextField"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if self.disabled:
            return value
        if not isinstance(value, str):
            return self.container() if value in self.empty_values else value
        if not value.strip():
            return self.container()
        try:
            converted = json.loads(value, cls=self.decoder)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                self.error_messages["invalid"],
                code="invalid",
                params={"error": exc.msg, "line": exc.lineno, "column": exc.colno, "value": value},
            ) from exc
        return JSONString(converted) if isinstance(converted, str) else converted

    def validate(self, value: Any) -> None:
        super().validate(value)
        if not isinstance(value, self.container):
            raise ValidationError(self.type_message, code="invalid_type", params={"kind": _json_kind(value)})

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Show what was typed, even when it is not JSON, so it can be fixed in place.
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return json.loads(data, cls=self.decoder)
        except json.JSONDecodeError:
            return InvalidJSONInput(data)


class JSONListFormField(_JSONContainerFormField):
    """A JSON list (positional arguments)."""

    container = list
    type_message = _('Enter a JSON list such as ["text", 1]; this is %(kind)s.')


class JSONDictFormField(_JSONContainerFormField):
    """A JSON object (keyword arguments, headers, options)."""

    container = dict
    type_message = _('Enter a JSON object such as {"key": "value"}; this is %(kind)s.')


def _kind_label(kind: str) -> str:
    model = PeriodicTask._meta.get_field(kind).related_model
    return str(model._meta.verbose_name)  # type: ignore[union-attr]


class PeriodicTaskForm(forms.ModelForm):
    """Edit a periodic task; ``schedule_type`` says which of the four schedule fields is meant.

    The type is a guide for the page (its script shows the field of the chosen
    type and any other field that holds a value); the schedule fields stay the
    truth, so a task with two schedules set is refused with both named, never
    silently trimmed.
    """

    schedule_type = forms.ChoiceField(
        label=_("Schedule type"),
        required=False,
        choices=[(kind, kind) for kind in SCHEDULE_FIELDS],
        widget=AdminRadioSelect(attrs={"class": "radiolist inline"}),
        help_text=_("Pick the kind of schedule, then an existing schedule of that kind or add one with +."),
    )

    #: the run count when the form was opened: beat may end a one-off while the form is open
    opened_run_count = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = PeriodicTask
        fields = (
            "name",
            "task",
            "enabled",
            "paused_reason",
            "description",
            *SCHEDULE_FIELDS,
            "one_off",
            "start_time",
            "expires",
            "grace_seconds",
            "missed_runs",
            "missed_runs_limit",
            "jitter_seconds",
            "args",
            "kwargs",
            "queue",
            "exchange",
            "routing_key",
            "priority",
            "expire_seconds",
            "headers",
            "options",
        )
        widgets = {"task": TaskNameWidget}
        field_classes = {
            "args": JSONListFormField,
            "kwargs": JSONDictFormField,
            "headers": JSONDictFormField,
            "options": JSONDictFormField,
        }

    class Media:
        js = ("django_periodic/admin/schedule_type.js",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schedule_type = self.fields["schedule_type"]
        assert isinstance(schedule_type, forms.ChoiceField)
        schedule_type.choices = [(kind, capfirst(_kind_label(kind))) for kind in SCHEDULE_FIELDS]
        if self.instance.pk is not None:
            schedule_type.initial = self.instance.schedule_kind
            self.fields["opened_run_count"].initial = self.instance.total_run_count
        #: set by clean() when beat ended the task while the form was open: it stays disabled
        self.kept_disabled = False

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        task, opened = self.instance, cleaned.get("opened_run_count")
        ran_meanwhile = task.pk is not None and opened is not None and task.total_run_count != opened
        if ran_meanwhile and not task.enabled and cleaned.get("enabled"):  # and beat ended it
            cleaned["enabled"], self.kept_disabled = False, True
        chosen = cleaned.get("schedule_type")
        given = [kind for kind in SCHEDULE_FIELDS if cleaned.get(kind) is not None]
        if chosen and len(given) == 1 and given[0] != chosen:
            labels = {"chosen": capfirst(_kind_label(chosen)), "given": capfirst(_kind_label(given[0]))}
            self.add_error(
                "schedule_type",
                ValidationError(
                    _(
                        "The schedule type is “%(chosen)s”, but the schedule set is under “%(given)s”. "
                        "Pick one under “%(chosen)s”, or change the type to “%(given)s”."
                    ),
                    code="schedule_type_mismatch",
                    params=labels,
                ),
            )
        return cleaned
