"""Sending: a message is built (mailboxes.mail.composing) and stored in the outbox first, then a
Celery task submits it. Nothing the person wrote is lost: a failure keeps the message, with
the server's reason."""

from __future__ import annotations

from email.message import Message
from email.policy import SMTP
from typing import TYPE_CHECKING

from django.db import transaction

from mailboxes import audit, hooks, recipients, signals
from mailboxes.actions import sending
from mailboxes.mail.composing import Draft, build, sender_of
from mailboxes.models import Mailbox, Outgoing, User

__all__ = ["Draft", "build", "sender_of"]  # what the actions' callers name as outbox.*
from mailboxes.operator import smtp

if TYPE_CHECKING:
    from django.http import HttpRequest


class TooLarge(Exception):
    """The message as built is larger than the operator accepts (SMTP SIZE)."""


def do_queue_message(
    author: User,
    mailbox: Mailbox,
    draft: Draft,
    request: HttpRequest | None = None,
    *,
    max_size: int | None = None,
    confirmed_outside: bool = False,
) -> Outgoing:
    """Build the message, keep it in the outbox, and have a worker send it after commit.
    The caller has checked Action.SEND on `mailbox`. TooLarge, and nothing kept, when the
    message would be larger than `max_size` (the operator's SIZE) as sent. OutsideRecipients,
    and nothing kept, when a registered check (the trust list, TL5) refuses a recipient, or
    warns about one the person has not confirmed; refusals are audited, domain only."""
    everyone = [*draft.to, *draft.cc, *draft.bcc]
    if outside := recipients.outside(everyone):
        refused = recipients.OutsideRecipients(outside)
        if refused.blocking or not confirmed_outside:
            sending.record_refusals(author, mailbox, outside, request)
            raise refused
    for hook in hooks.before_queue:  # hooks.Refused goes up to the view
        hook(author, mailbox, draft)
    message = build(author, mailbox, draft)
    if max_size and len(message.as_bytes(policy=SMTP)) > max_size:
        raise TooLarge
    return do_queue_raw(author, mailbox, message, everyone, draft.request_dsn, request)


@transaction.atomic
def do_queue_raw(
    author: User,
    mailbox: Mailbox,
    message: Message,
    recipients: list[str],
    request_dsn: bool,
    request: HttpRequest | None = None,
    action: str = "message.queue",
) -> Outgoing:
    """Keep an already built message in the outbox; it leaves after commit (sending.py)."""
    outgoing = Outgoing.objects.create(
        mailbox=mailbox,
        author=author,
        message_id=str(message["Message-ID"]),
        envelope_from=mailbox.address,
        recipients=recipients,
        raw=message.as_bytes(policy=SMTP),
        request_dsn=request_dsn,
    )
    audit.record(author, action, mailbox=mailbox, target=outgoing.message_id, request=request)
    signals.message_queued.send(Outgoing, outgoing=outgoing, message=message, action=action)
    sending.enqueue(outgoing)
    return outgoing


@transaction.atomic
def do_retry(author: User, outgoing: Outgoing, request: HttpRequest | None = None) -> None:

    Outgoing.objects.filter(pk=outgoing.pk, status=Outgoing.Status.FAILED).update(
        status=Outgoing.Status.QUEUED, error=""
    )
    audit.record(
        author,
        "message.retry",
        mailbox=outgoing.mailbox,
        target=outgoing.message_id,
        request=request,
    )
    sending.enqueue(outgoing)


@transaction.atomic
def do_discard(author: User, outgoing: Outgoing, request: HttpRequest | None = None) -> bool:
    """Delete a message that was not sent (its content with it). Only a failed one: a queued
    or sending message may be on its way. The caller has checked Action.SEND."""
    deleted, _ = Outgoing.objects.filter(pk=outgoing.pk, status=Outgoing.Status.FAILED).delete()
    if deleted:
        audit.record(
            author,
            "message.discard",
            mailbox=outgoing.mailbox,
            target=outgoing.message_id,
            request=request,
        )
    return bool(deleted)


def size_limit() -> int | None:
    """The largest message the operator takes (SMTP SIZE), None if it says none."""
    return smtp.size_limit()
