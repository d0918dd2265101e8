"""Composing MIME: what the person wrote -> the message that leaves (policy.default).

From is the mailbox; Sender the person when they write for another mailbox (RFC 5322 3.6.2);
UTF-8 text (ECO.2.2.3); X-MSS-NIL on every message (CONF.16); headers checked on one line.
"""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default

from django.conf import settings

from mailboxes.mail.headers import date_now, for_header, message_ids, new_message_id, one_line
from mailboxes.models import Mailbox, User


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
