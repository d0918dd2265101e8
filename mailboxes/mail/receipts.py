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
import unicodedata
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
    lenient_recipients,
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
        return integration_error(message) or mes_bounce(message)
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
            if from_mes(sender):
                return mes_explained(message, report)
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


def original_headers(message: EmailMessage) -> Message | None:
    """The headers of the original a report or bounce carries (message/rfc822 or
    text/rfc822-headers), if any."""
    for part in mime.leaves(message):
        kind = part.get_content_type()
        payload = part.get_payload()
        first = payload[0] if isinstance(payload, list) and payload else None
        if kind == "message/rfc822" and isinstance(first, Message):
            return first
        if kind == "text/rfc822-headers":
            return HeaderParser(policy=default_policy).parsestr(mime.part_text(part))
    return None


def original_message_id(message: EmailMessage) -> str:
    original = original_headers(message)
    return mime.header(original, "Message-ID").strip() if original is not None else ""


def integration_error(message: EmailMessage) -> Report | None:
    """A "courriel standard" KO mail as a read report about the original it carries: the
    same display as an MDN's `processed/Error: 902^…` (kind mdn, action failed)."""
    found = KO_SUBJECT.match(mime.header(message, "Subject").strip())
    if found is None:
        return None
    original = original_message_id(message)
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


# RCPT (c): Mon espace santé's bounces, told by their texts ("messagerie fermée", "patient
# non trouvé", "adresse invalide", size), matched lower case without accents (MTAs often
# write ASCII) and with a few words between ("la messagerie de l'usager est fermée"). The
# French explanation is the display's business; this gives the canonical text.
MES_TEXTS = (
    (re.compile(r"messagerie\b.{0,40}\bfermee"), "messagerie fermée"),
    (re.compile(r"patient\b.{0,20}\b(?:non trouve|introuvable|inconnu)"), "patient non trouvé"),
    (re.compile(r"adresse\b.{0,20}\binvalide"), "adresse invalide"),
    (re.compile(r"\b(?:taille|size)\b"), "taille"),
)
PATIENT_DOMAIN = "patient.mssante.fr"  # PAT1: <INS>@patient.mssante.fr
HUMAN_TEXT_LIMIT = 4000


def plain(text: str) -> str:
    """Lower case without accents, for matching texts."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def mes_text(text: str) -> str:
    """The Mon espace santé bounce text found in `text` (its canonical form), or ""."""
    lowered = plain(text)
    return next((shown for pattern, shown in MES_TEXTS if pattern.search(lowered)), "")


PATIENT_LOCAL = re.compile(r"[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{8}", re.IGNORECASE)


def from_mes(sender: str) -> bool:
    """Whether a report's From is Mon espace santé (MES_REPORTING_DOMAINS) itself, not a
    patient writing from there (`<INS>@patient.mssante.fr`, PAT4)."""
    local, _, domain = sender.rpartition("@")
    return domain.lower() in settings.MES_REPORTING_DOMAINS and not PATIENT_LOCAL.fullmatch(local)


def human_text(message: EmailMessage) -> str:
    """The report's first text/plain part (what people read), bounded."""
    for part in mime.leaves(message):
        if part.get_content_type() == "text/plain":
            return mime.part_text(part)[:HUMAN_TEXT_LIMIT]
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break  # the original's own text is not the report's
    return ""


def mes_explained(message: EmailMessage, report: Report) -> Report:
    """A DSN from Mon espace santé: matched by the original's Message-ID too (its MTA may
    not echo our ENVID), and an entry whose diagnostic is silent gets the bounce text its
    human-readable part gives (RCPT c)."""
    report.original_message_id = original_message_id(message)
    said = mes_text(human_text(message))
    for entry in report.entries:
        if said and entry.action == "failed" and not mes_text(entry.diagnostic):
            entry.diagnostic = f"{entry.diagnostic} ({said})".strip()[:300]
    return report


def mes_bounce(message: EmailMessage) -> Report | None:
    """A bounce from Mon espace santé that is not a DSN: a plain mail whose text gives one of
    the MES_TEXTS and which carries the original; a failure for each patient address the
    original was written to."""
    sender = first_address(mime.header(message, "From"))
    said = mes_text(human_text(message)) if from_mes(sender) else ""
    original = original_headers(message) if said else None
    if original is None:
        return None
    written = [mime.header(original, name) for name in ("To", "Cc")]
    patients = [
        a for a in lenient_recipients(", ".join(written)) if a.endswith("@" + PATIENT_DOMAIN)
    ]
    return Report(
        "dsn",
        mime.header(message, "Message-ID"),
        sender,
        original_message_id=mime.header(original, "Message-ID").strip(),
        entries=[Entry(a, "failed", diagnostic=said) for a in patients],
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
