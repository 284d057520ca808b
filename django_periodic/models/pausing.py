"""Who paused a periodic task, when and why: the fields and the two calls that write them."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class PauseRecord(models.Model):
    """A disabled task's pause record, written with ``enabled`` and cleared on enable.

    Only a person pauses: the admin's disable and toggle actions, the task form and
    ``periodic_tasks pause``. Beat disabling a one-off after its run, or a task past
    ``expires``, is not a pause and leaves no record.
    """

    paused_at = models.DateTimeField(
        _("Paused at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the task was disabled from the admin or the command line; empty while enabled."),
    )
    paused_by = models.CharField(
        _("Paused by"),
        max_length=200,
        blank=True,
        default="",
        editable=False,
        help_text=_("Who disabled the task: a user name, or the command line and its user."),
    )
    paused_reason = models.CharField(
        _("Reason for pausing"),
        max_length=500,
        blank=True,
        default="",
        help_text=_(
            "Why the task is disabled, for whoever finds it so. Optional; cleared when the task "
            "is enabled again."
        ),
    )

    class Meta:
        abstract = True

    def pause(self, by: str, reason: str = "") -> bool:
        """Disable the task and record who paused it and why; False if it was disabled already."""
        rows: Any = type(self)._default_manager.filter(pk=self.pk)  # a PeriodicTaskQuerySet
        return bool(rows.pause(by, reason))

    def resume(self) -> bool:
        """Enable the task and forget its pause; False if it was enabled already."""
        rows: Any = type(self)._default_manager.filter(pk=self.pk)
        return bool(rows.resume())
