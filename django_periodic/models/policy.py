"""What beat does with runs that are late, missed or overlapping: a task's run policy."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..timing.plans import MISSED_ALL, MISSED_ONCE, MISSED_SKIP

#: What beat does when a run falls due while the task's previous run has not finished.
OVERLAP_ALLOW = "allow"
OVERLAP_SKIP = "skip"
OVERLAP_CHOICES = [
    (OVERLAP_ALLOW, _("Send it anyway")),
    (OVERLAP_SKIP, _("Skip it while the previous run is unfinished")),
]

MISSED_RUNS_CHOICES = [
    (MISSED_ONCE, _("Run once")),
    (MISSED_SKIP, _("Skip them")),
    (MISSED_ALL, _("Run each missed run")),
]


class RunPolicy(models.Model):
    """The fields beyond django-celery-beat that decide late, missed and overlapping runs."""

    missed_runs = models.CharField(
        _("Missed runs"),
        max_length=8,
        choices=MISSED_RUNS_CHOICES,
        default=MISSED_ONCE,
        help_text=_(
            "What to do with runs that fell due while beat could not send them and are later "
            "than the grace period: run once, skip them, or run each (up to the limit)."
        ),
    )
    missed_runs_limit = models.PositiveSmallIntegerField(
        _("Missed runs limit"),
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_("With 'run each missed run': how many of the most recent ones run at most."),
    )
    grace_seconds = models.PositiveIntegerField(
        _("Grace period (seconds)"),
        null=True,
        blank=True,
        help_text=_("How late a run may still go out as an ordinary run. Empty: no grace."),
    )
    jitter_seconds = models.PositiveIntegerField(
        _("Jitter (seconds)"),
        null=True,
        blank=True,
        help_text=_(
            "Delay each run by up to this many seconds, the same delay for the same run, "
            "to spread tasks that share a time."
        ),
    )
    overlap = models.CharField(
        _("Overlapping runs"),
        max_length=8,
        choices=OVERLAP_CHOICES,
        default=OVERLAP_ALLOW,
        help_text=_(
            "What to do when a run falls due while the previous one has not finished "
            "(needs the run ledger, and the app installed on the workers)."
        ),
    )
    overlap_timeout = models.PositiveIntegerField(
        _("Unfinished after (seconds)"),
        null=True,
        blank=True,
        help_text=_(
            "With 'skip': a previous run with no outcome after this many seconds stops blocking "
            "and is marked as having no outcome. Empty: the OVERLAP_TIMEOUT setting (one hour)."
        ),
    )

    class Meta:
        abstract = True
