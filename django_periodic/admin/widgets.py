"""Form widgets: a task name typed freely or picked from the tasks Celery knows."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django import forms
from django.utils.translation import gettext

__all__ = ["TaskNameWidget", "registered_task_names"]


#: Celery's own tasks that make sense on a schedule; its other built-ins (chord_unlock,
#: group, map ...) are plumbing and would only crowd the suggestions.
CELERY_TASKS_TO_SUGGEST = frozenset({"celery.backend_cleanup"})


def registered_task_names() -> list[str]:
    """Names of the tasks registered in the Celery app, autodiscovered modules included."""
    # Django projects call app.autodiscover_tasks(), which imports the tasks
    # modules lazily, when the loader imports its default modules.
    current_app.loader.import_default_modules()
    return sorted(
        name
        for name in current_app.tasks
        if not name.startswith("celery.") or name in CELERY_TASKS_TO_SUGGEST
    )


def unknown_task_warning(name: str) -> str | None:
    """What to tell a user about a task name this project's Celery app does not register."""
    registered_task_names()  # imports the project's task modules first
    if name in current_app.tasks:  # Celery's own tasks included
        return None
    return gettext(
        "The task %(task)s is not registered in this project's Celery app: beat sends it by name, "
        "and only workers that define it can run it. Check the name if it should be known here."
    ) % {"task": repr(name)}


class TaskNameWidget(forms.TextInput):
    """A text input with the registered task names as suggestions (an HTML datalist).

    Any name can be typed: beat and "run now" send tasks this process does not
    know by name, so a task that only the workers import is fine.
    """

    template_name = "django_periodic/widgets/task_name.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"class": "vTextField", "autocomplete": "off", **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["datalist_id"] = f"{widget['attrs'].get('id') or name}_choices"
        widget["attrs"]["list"] = widget["datalist_id"]
        widget["task_names"] = registered_task_names()
        return context
