"""Receipts: delivery reports (DSN, RFC 3464) and read reports (MDN, RFC 8098), the formats.
Collecting them (IMAP, the database) is mailboxes.actions.receipts.

In: reports found in a mailbox's INBOX are parsed and matched to the outbox (a DSN by the
random ENVID we gave, an MDN by the Original-Message-ID). Anyone may mail the mailbox, so a
report is believed only as far as it can be: a DSN only from the operator's reporting
address (OPERATOR_REPORTING_ADDRESSES), an MDN only from the recipient it speaks for, and
either only about people the message was written to. Out: a read report, sent only when the
person asks (MSSanté: never automatically when Disposition-Notification-To differs from
Return-Path; we never send one automatically at all).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import HeaderParser
from email.policy import default as default_policy

from django.conf import settings
from django.utils import timezone

from mailboxes.mail import mime
from mailboxes.mail.headers import (
    date_now,
    first_address,
    for_header,
    message_ids,
    new_message_id,
    one_line,
)
from mailboxes.models import Mailbox

logger = logging.getLogger(__name__)
MDN_SENT = b"$MDNSent"  # RFC 3503 keyword: a read report went out for this message


@dataclass
class Entry:
    recipient: str
    action: str
    status: str = ""
    diagnostic: str = ""
    original_recipient: str = ""  # DSN: the address as we gave it (RFC 3464 2.3.1)


@dataclass
class Report:
    kind: str
    message_id: str  # the report's own Message-ID
    sender: str = ""  # the report's From address, lower case
    envelope_id: str = ""  # DSN: the ENVID we gave at submission
    original_message_id: str = ""
    entries: list[Entry] = field(default_factory=list)


def _fields(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or disposition-notification part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [HeaderParser(policy=default_policy).parsestr(block) for block in text.split("\n\n")]


def _address(value: str) -> str:
    return value.split(";", 1)[-1].strip().lower()  # "rfc822; x@y" -> "x@y"


def parse(raw: bytes) -> Report | None:
    """The report in a message, or None when it is not a DSN or an MDN (or is malformed)."""
    try:
        message = mime.message(raw)
    except mime.TooDeep:
        return None
    if message.get_content_type() != "multipart/report":
        return integration_error(message)
    report_id = mime.header(message, "Message-ID")
    sender = first_address(mime.header(message, "From"))
    for part in mime.leaves(message):
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks = _fields(part)
            if not blocks:
                return None
            envelope_id = str(blocks[0].get("Original-Envelope-Id", "")).strip()
            report = Report("dsn", report_id, sender, envelope_id=envelope_id)
            for block in blocks[1:]:
                if block.get("Final-Recipient"):
                    report.entries.append(
                        Entry(
                            _address(str(block["Final-Recipient"])),
                            str(block.get("Action", "")).strip().lower(),
                            str(block.get("Status", "")).strip(),
                            str(block.get("Diagnostic-Code", "")).strip()[:300],
                            _address(str(block.get("Original-Recipient", ""))),
                        )
                    )
            return report
        if kind == "message/disposition-notification":
            block = next(iter(_fields(part)), None)  # type: ignore[arg-type]  # typeshed: no None default for Message
            if block is None:
                return None
            # RFC 8098 3.2.6 type["/"modifier]: a CI-SIS integration result rides in the
            # modifier, "processed/Error: 902^Identifiant patient inconnu" (RCPT a).
            disposition = str(block.get("Disposition", "")).split(";")[-1].strip()
            action, _, modifier = disposition.partition("/")
            recipient = _address(str(block.get("Final-Recipient", "")))
            return Report(
                "mdn",
                report_id,
                sender,
                original_message_id=str(block.get("Original-Message-ID", "")).strip(),
                entries=[
                    Entry(recipient, action.strip().lower(), diagnostic=modifier.strip()[:300])
                ],
            )
    return None


# RCPT (b): the CI-SIS "courriel standard" sent when a document could not be integrated.
KO_SUBJECT = re.compile(
    r"^\[(KO Intégration système !|Erreur d[’']intégration !)\]\[(\d{3})\]\s*(.*)"
)
KO_SEARCHES = (["SUBJECT", "KO Int"], ["SUBJECT", "Erreur d"])


def integration_error(message: EmailMessage) -> Report | None:
    """A "courriel standard" KO mail as a read report about the original it carries: the
    same display as an MDN's `processed/Error: 902^…` (kind mdn, action failed)."""
    found = KO_SUBJECT.match(mime.header(message, "Subject").strip())
    if found is None:
        return None
    original = ""
    for part in mime.leaves(message):
        kind = part.get_content_type()
        payload = part.get_payload()
        first = payload[0] if isinstance(payload, list) and payload else None
        if kind == "message/rfc822" and isinstance(first, Message):
            original = mime.header(first, "Message-ID")
        elif kind == "text/rfc822-headers":
            original = str(
                HeaderParser(policy=default_policy)
                .parsestr(mime.part_text(part))
                .get("Message-ID", "")
            )
        if original:
            break
    if not original:
        return None
    sender = first_address(mime.header(message, "From"))
    error = f"Error: {found.group(2)}^{found.group(3).strip() or found.group(1)}"[:300]
    entry = Entry(sender, "failed", diagnostic=error)
    return Report(
        "mdn",
        mime.header(message, "Message-ID"),
        sender,
        original_message_id=original.strip(),
        entries=[entry],
    )


def build_mdn(mailbox: Mailbox, original: EmailMessage, to: str) -> Message:
    """A read report (RFC 8098 multipart/report), sent because the person chose to."""
    original_id = one_line(mime.header(original, "Message-ID"))  # it goes into a field line
    report = MIMEMultipart("report", report_type="disposition-notification", policy=default_policy)
    report["From"] = for_header(mailbox.label, mailbox.address)
    report["To"] = to
    report["Subject"] = one_line(f"Accusé de lecture : {mime.header(original, 'Subject')}")[:250]
    report["Date"] = date_now()
    report["Message-ID"] = new_message_id(mailbox.address)
    if original_ids := message_ids(original_id)[:1]:
        report["References"] = original_ids[0]
    if settings.WEBMAIL_MSS_NIL:  # on every message, read reports too (XDM-S6)
        report["X-MSS-NIL"] = settings.WEBMAIL_MSS_NIL
    human = (
        f"Le message envoyé à {mailbox.address} a été affiché le "
        f"{timezone.localtime():%d/%m/%Y à %H:%M}. Cela ne garantit pas qu'il ait été lu "
        "ni compris."
    )
    report.attach(MIMEText(human, "plain", "utf-8", policy=default_policy))
    fields = Message(policy=default_policy)
    fields["Content-Type"] = "message/disposition-notification"
    # RCPT (d): echo the Original-Recipient the original carried (RFC 8098 3.2.3).
    echoed = mime.header(original, "Original-Recipient").strip()
    fields.set_payload(
        "Reporting-UA: webmail MSSante\r\n"
        + (f"Original-Recipient: {' '.join(echoed.split())}\r\n" if echoed else "")
        + f"Final-Recipient: rfc822; {mailbox.address}\r\n"
        f"Original-Message-ID: {original_id}\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\r\n"
    )
    report.attach(fields)
    return report


def mdn_request(message: mime.ParsedMessage) -> tuple[str, bool]:
    """(address asking for a read report, whether it differs from Return-Path)."""
    asked = first_address(message.disposition_notification_to)
    returned = first_address(message.return_path)
    return asked, bool(asked) and asked != returned
