"""Messages on their way out, and the receipts that come back."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    pass

from mailboxes.models.mailboxes import Mailbox
from mailboxes.models.people import User


def new_envelope_id() -> str:
    """An ENVID (RFC 3461) nobody can guess: delivery reports are matched by it."""
    return secrets.token_hex(16)


class Outgoing(models.Model):
    """A message on its way out: written here first, so nothing the person wrote is lost.

    `raw` is the MIME message as built (health data: cleared once the message is sent and
    copied to Sent). A failed message stays, with the server's reason, until retried.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        # Not the folder's "Sent" (Envoyés): a message is "Envoyé".
        SENT = "sent", pgettext_lazy("outgoing message", "Sent")
        FAILED = "failed", _("Not sent")

    # The error of a send whose worker died mid-way (shown translated in the outbox).
    INTERRUPTED = "interrupted"

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="outgoing")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    message_id = models.CharField(max_length=250, unique=True)
    envelope_from = models.EmailField()
    # Given at submission and quoted back by the operator's delivery reports. Random, not the
    # row's id: whoever can mail the mailbox could otherwise forge "delivered to".
    envelope_id = models.CharField(max_length=32, unique=True, default=new_envelope_id)
    recipients = models.JSONField(default=list)
    raw = models.BinaryField()
    request_dsn = models.BooleanField(default=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    copied_to_sent = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # a worker began sending it
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        indexes: ClassVar = [models.Index(fields=["mailbox", "status", "-created"])]

    def __str__(self) -> str:
        return self.message_id


class Receipt(models.Model):
    """A delivery report (DSN, RFC 3464) or a read report (MDN, RFC 8098) for a sent message."""

    class Kind(models.TextChoices):
        DSN = "dsn", _("Delivery report")
        MDN = "mdn", _("Read report")

    outgoing = models.ForeignKey(Outgoing, on_delete=models.CASCADE, related_name="receipts")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    recipient = models.CharField(max_length=254)
    action = models.CharField(max_length=32)  # delivered, failed, delayed, displayed, deleted...
    status = models.CharField(max_length=32, blank=True)
    diagnostic = models.CharField(max_length=300, blank=True)
    report_message_id = models.CharField(max_length=250)
    received = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["outgoing", "report_message_id", "recipient"], name="receipt_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.action} {self.recipient}"
