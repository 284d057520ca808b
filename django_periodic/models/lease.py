"""The beat lease: which beat process may send, judged by the database clock."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BeatLease(models.Model):
    """One row per beat cluster; the holder sends, every other beat stands by."""

    name = models.CharField(_("Name"), max_length=100, primary_key=True)
    holder = models.CharField(
        _("Holder"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("host:pid of the beat process that holds the lease"),
    )
    token = models.CharField(_("Token"), max_length=64, blank=True, default="")
    epoch = models.BigIntegerField(_("Epoch"), default=0, help_text=_("Goes up by one at every takeover"))
    acquired_at = models.DateTimeField(_("Leader since"), null=True, blank=True)
    renewed_at = models.DateTimeField(_("Last renewed"), null=True, blank=True)
    expires_at = models.DateTimeField(_("Expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("beat lease")
        verbose_name_plural = _("beat leases")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or '-'} (epoch {self.epoch})"
