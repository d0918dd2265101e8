"""The audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.db.models import QuerySet

from mailboxes.models.mailboxes import Mailbox
from mailboxes.models.people import User


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_mailbox(self, mailbox: Mailbox) -> QuerySet[AuditEvent]:
        return self.filter(mailbox=mailbox).order_by("-created")


class AuditEvent(models.Model):
    """One action on a mailbox or one login (MSSanté Ref#2 SC.MSS/CONF.17-18).

    Append-only: the application has no update or delete path except the retention purge.
    Never holds a body, a subject or a patient identity: targets are folder/UID or Message-ID.
    """

    class Outcome(models.TextChoices):
        OK = "ok", _("Success")
        DENIED = "denied", _("Refused")
        ERROR = "error", _("Error")

    created = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Copied so the trail survives the deletion of the account or the mailbox.
    actor_label = models.CharField(max_length=200, blank=True)
    actor_subject_name_id = models.CharField(max_length=32, blank=True)
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    mailbox_address = models.CharField(max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=64)
    target = models.CharField(_("target"), max_length=500, blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    response = models.CharField(_("server response"), max_length=200, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        indexes: ClassVar = [models.Index(fields=["mailbox", "-created"])]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.outcome}"
