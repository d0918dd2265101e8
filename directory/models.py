"""The trust list (TL) and the Annuaire Santé directory (DIR)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrustedDomain(models.Model):
    """One domain of the MSSanté trust list in force (TL2, TL4). The list is replaced as a
    whole, in one transaction, when a new one is accepted (TL3)."""

    name = models.CharField(_("domain"), max_length=253, unique=True)  # A-label, lower case
    display = models.CharField(max_length=253)  # U-label, for people
    description = models.CharField(max_length=300, blank=True)
    operators = models.CharField(max_length=500, blank=True)  # the O= of each certificate

    class Meta:
        verbose_name = _("trusted domain")

    def __str__(self) -> str:
        return self.display


class TrustListLoad(models.Model):
    """Each attempt to replace the trust list, accepted or refused with its reason. The
    latest accepted one describes the list in force."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=500)
    accepted = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)  # why it was refused
    generated = models.DateTimeField(null=True, blank=True)  # its DateDeGeneration
    domains = models.PositiveIntegerField(default=0)  # distinct valid names
    skipped = models.PositiveIntegerField(default=0)  # invalid names (TL4)

    class Meta:
        verbose_name = _("trust list load")

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.source} accepted={self.accepted}"
