"""Sending: a message is built and stored in the outbox first, then a Celery task submits it.
Nothing the person wrote is lost: a failure keeps the message, with the server's reason."""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.policy import SMTP, default
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from mailboxes import audit, hooks, recipients, signals
from mailboxes.actions import sending
from mailboxes.mail.headers import date_now, for_header, message_ids, new_message_id, one_line
from mailboxes.models import Mailbox, Outgoing, User
from mailboxes.operator import smtp

if TYPE_CHECKING:
    from django.http import HttpRequest


@dataclass
class Draft:
    """What the person wrote, parsed by the view."""

    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # name, type, data
    in_reply_to: str = ""
    references: str = ""
    request_dsn: bool = True
    request_mdn: bool = False
    forwarded: bytes = b""  # a message forwarded as an attachment (message/rfc822)
    headers: list[tuple[str, str]] = field(default_factory=list)  # set by hooks (X-MSS-*)


def sender_of(author: User) -> str:
    """The person's own address, for `Sender:` when they write for another mailbox."""
    own = author.owned_mailboxes.filter(kind=Mailbox.Kind.PERSONAL).first()
    return for_header(author.get_full_name(), own.address if own else author.email)


def build(author: User, mailbox: Mailbox, draft: Draft) -> EmailMessage:
    message = EmailMessage()
    message["From"] = for_header(mailbox.label, mailbox.address)
    if not (mailbox.kind == Mailbox.Kind.PERSONAL and mailbox.owner_id == author.pk):
        message["Sender"] = sender_of(author)  # on behalf of the mailbox (RFC 5322 3.6.2)
    message["To"] = ", ".join(draft.to)
    if draft.cc:
        message["Cc"] = ", ".join(draft.cc)
    message["Subject"] = one_line(draft.subject)
    message["Date"] = date_now()
    message["Message-ID"] = new_message_id(mailbox.address)
    if settings.WEBMAIL_MSS_NIL:  # on every message (CONF.16/ECO.2.4.3, XDM-S6)
        message["X-MSS-NIL"] = settings.WEBMAIL_MSS_NIL
    if replied := message_ids(draft.in_reply_to)[:1]:
        references = [i for i in message_ids(draft.references) if i != replied[0]]
        message["In-Reply-To"] = replied[0]
        message["References"] = " ".join([*references, *replied])
    if draft.request_mdn:
        message["Disposition-Notification-To"] = mailbox.address
    for name, value in draft.headers:
        message[name] = one_line(value)
    message.set_content(draft.text, charset="utf-8")  # ECO.2.2.3: UTF-8 text
    if draft.forwarded:
        message.add_attachment(
            email.message_from_bytes(draft.forwarded, policy=default), filename="message.eml"
        )
    for name, content_type, data in draft.attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=one_line(name) or "piece-jointe",
        )
    return message


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
