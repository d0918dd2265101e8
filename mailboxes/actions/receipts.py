"""Delivery and read reports about what a mailbox sent: matched to the sent message,
recorded, and the good news filed away. The report formats are mailboxes.mail.receipts.

Collection is incremental: each run reads only the INBOX messages that arrived since the last
one (UIDs above the last seen, for the same UIDVALIDITY), so its cost does not grow with the
mailbox's history. The mark lives in the cache: lost, the next run reads everything once more,
which records nothing twice (receipts are unique per report and recipient).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from mailboxes import audit, logcontext
from mailboxes.errors import OperatorUnavailable
from mailboxes.mail.receipts import KO_SEARCHES, PATIENT_DOMAIN, Entry, Report, from_mes, parse
from mailboxes.models import Mailbox, Outgoing, Receipt
from mailboxes.operator import imap

logger = logging.getLogger(__name__)
SEEN_SECONDS = 30 * 24 * 3600


def match(mailbox: Mailbox, report: Report) -> Outgoing | None:
    """The sent message the report is about, if the report comes from who may write it."""
    sent = Outgoing.objects.filter(mailbox=mailbox)
    if report.kind == "dsn" and from_mes(report.sender):  # RCPT (c): by ENVID or Message-ID
        by_envelope = sent.filter(envelope_id=report.envelope_id) if report.envelope_id else None
        if by_envelope is not None and (found := by_envelope.first()):
            return found
        if report.original_message_id:
            return sent.filter(message_id=report.original_message_id).first()
        return None
    if report.kind == "dsn" and report.envelope_id:
        if report.sender not in settings.OPERATOR_REPORTING_ADDRESSES:
            return None
        return sent.filter(envelope_id=report.envelope_id).first()
    if report.kind == "mdn" and report.original_message_id:
        return sent.filter(message_id=report.original_message_id).first()
    return None


def vouched(outgoing: Outgoing, report: Report, entry: Entry) -> str:
    """The recipient an entry speaks for, when it is one the message was written to; else
    "". An MDN speaks only for its own sender (RFC 8098 3.2.3: Final-Recipient is the
    mailbox that displayed it), a DSN for the address we gave or the one it reached."""
    # Once sent, a patient's address is kept masked (as in the audit): compare masked forms,
    # and keep the receipt's recipient masked too.
    written_to = {audit.without_patient_identity(a.lower()) for a in outgoing.recipients}
    if report.kind == "mdn" and entry.recipient != report.sender:
        return ""
    mes = report.kind == "dsn" and from_mes(report.sender)
    if mes and not entry.recipient.endswith("@" + PATIENT_DOMAIN):
        return ""  # Mon espace santé speaks only for its own (patient) addresses
    addresses = (
        [entry.recipient] if report.kind == "mdn" else [entry.original_recipient, entry.recipient]
    )
    for address in map(audit.without_patient_identity, addresses):
        if address and address in written_to:
            return address
    return ""


def record(mailbox: Mailbox, report: Report) -> int:
    """Store the report's entries against the sent message; returns how many were new.
    Entries about anyone the message was not written to are dropped."""
    outgoing = match(mailbox, report)
    if outgoing is None:
        return 0
    added = 0
    for entry in report.entries:
        if not (recipient := vouched(outgoing, report, entry)):
            continue
        try:
            with transaction.atomic():
                Receipt.objects.create(
                    outgoing=outgoing,
                    kind=report.kind,
                    recipient=recipient[:254],
                    action=entry.action[:32],
                    status=entry.status[:32],
                    diagnostic=entry.diagnostic,
                    report_message_id=report.message_id[:250],
                )
            added += 1
        except IntegrityError:
            pass  # seen before: collecting is idempotent
    return added


# What a report may say for it to be filed away: the message reached, or was read.
GOOD_NEWS = frozenset({"delivered", "relayed", "expanded", "displayed"})


def good_news(mailbox: Mailbox, report: Report) -> bool:
    """A report about one of our sent messages whose every vouched entry is good news: the
    sent message says it now ("Remis à…", "Lu par…"), so the report need not wait in INBOX.
    A failure or delay stays there, unread: it needs the person's eyes."""
    outgoing = match(mailbox, report)
    if outgoing is None:
        return False
    actions = [e.action for e in report.entries if vouched(outgoing, report, e)]
    return bool(actions) and all(action in GOOD_NEWS for action in actions)


@logcontext.about_mailbox
def do_collect_receipts(mailbox: Mailbox) -> int:
    """Read the reports that arrived in the mailbox's INBOX since the last collection,
    record those about our sent messages, and file the good news away
    (WEBMAIL_RECEIPTS_FOLDER, read): every sent message would otherwise leave an unread
    English report in INBOX. Returns how many receipts were new."""
    mark = f"webmail:receipts:seen:{mailbox.pk}"
    with imap.imap_session(mailbox) as client:
        selected = client.select_folder("INBOX", readonly=True)
        validity, _, last = str(cache.get(mark) or "").partition(":")
        current = str(selected.get(b"UIDVALIDITY", ""))
        since = int(last) + 1 if validity == current and last.isdigit() else 1
        newest = int(selected.get(b"UIDNEXT", 1)) - 1
        if since > newest:
            return 0
        window = ["UID", f"{since}:*"]
        found = set(client.search([*window, "HEADER", "Content-Type", "report"]))
        for criteria in KO_SEARCHES:  # RCPT (b): the "courriel standard" KO mails
            found.update(client.search([*window, *criteria]))
        for domain in settings.MES_REPORTING_DOMAINS:  # RCPT (c): bounces that are no DSN
            found.update(client.search([*window, "FROM", domain]))
        uids = sorted(uid for uid in found if uid >= since)  # "n:*" always holds the last
        fetched = client.fetch(uids, [b"BODY.PEEK[]"]) if uids else {}
    added, done = 0, []
    for uid, data in fetched.items():
        # One bad message must not stop the others: its reports would never be recorded,
        # and the same failure would come back on every collection while it sits in INBOX.
        try:
            report = parse(data.get(b"BODY[]", b""))
            if report is None:
                continue
            added += record(mailbox, report)
            if good_news(mailbox, report):
                done.append(uid)
        except Exception as exc:  # the type only: an exception's text may quote the mail
            logger.warning(
                "receipts: mailbox %s UID %s skipped (%s)", mailbox.pk, uid, type(exc).__name__
            )
    if done:
        try:
            imap.file_away(mailbox, "INBOX", done, settings.WEBMAIL_RECEIPTS_FOLDER)
        except OperatorUnavailable:
            logger.warning("receipts: mailbox %s reports not filed (operator)", mailbox.pk)
    cache.set(mark, f"{current}:{newest}", SEEN_SECONDS)
    return added
