"""Delivery (DSN) and read (MDN) reports, end to end with a real worker, Postfix and Dovecot."""

from __future__ import annotations

import email
import os
import re
import smtplib
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.urls import reverse
from pytest_django import Settings

from mailboxes.actions import receipts as receipt_actions
from mailboxes.mail import receipts
from mailboxes.models import AuditEvent, Mailbox, Outgoing, Receipt, User
from mailboxes.operator.imap import imap_session
from tests.conftest import client_for
from tests.integration.helpers import flags_of, in_folder, uid_of, wait_until
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MARIE = "marie.durand@operateur-a.mssante.test"
KARIM = "karim.benali@hopital-c.mssante.test"
OUTSIDER = "intrus@hopital-c.mssante.test"  # can mail Karim; Karim never wrote to them
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    settings.WEBMAIL_SEND_RETRY_SECONDS = 1
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def sent(outgoing_id: int) -> Outgoing:
    wait_until(lambda: Outgoing.objects.get(pk=outgoing_id).status == "sent", seconds=60)
    return Outgoing.objects.get(pk=outgoing_id)


def test_it_links_delivery_and_read_reports_to_the_sent_message(
    worker: None, directory: dict[str, Mailbox], marie: User, karim: User, settings: Settings
) -> None:
    page = client_for(karim).post(
        reverse("mail-compose", args=[directory[KARIM].pk]),
        {
            "to": MARIE,
            "subject": "Avis",
            "text": "Bonjour",
            "request_dsn": "on",
            "request_mdn": "on",
            "from_mailbox": str(directory[KARIM].pk),
        },
    )
    assert page.status_code == 302
    outgoing = sent(Outgoing.objects.get().pk)
    # Delivered: Postfix's success report reaches Karim and is matched by our envelope id.
    wait_until(
        lambda: receipt_actions.do_collect_receipts(directory[KARIM]) or Receipt.objects.exists(),
        seconds=30,
    )
    delivered = Receipt.objects.get(kind="dsn")
    assert (delivered.outgoing, delivered.recipient) == (outgoing, MARIE)
    # "relayed": Dovecot's LMTP does not speak DSN, so Postfix says it handed the message on;
    # for MSSanté's "accusé de réception" both mean the recipient's server accepted it.
    assert delivered.action in ("delivered", "relayed")
    # Issue 15 defect 4: matched, the report leaves INBOX for the receipts folder, read; the
    # copy in Sent says "Remis à…".
    report = Receipt.objects.get(kind="dsn").report_message_id
    wait_until(lambda: not in_folder(directory[KARIM], report), seconds=30)
    filed = uid_of(directory[KARIM], report, folder=settings.WEBMAIL_RECEIPTS_FOLDER)
    assert b"\\Seen" in flags_of(directory[KARIM], filed, settings.WEBMAIL_RECEIPTS_FOLDER)
    copy = uid_of(directory[KARIM], outgoing.message_id, folder="Sent")
    sent_page = client_for(karim).get(
        reverse("mail-message", args=[directory[KARIM].pk, copy]), {"folder": "Sent"}
    )
    assert f"Remis à {MARIE}" in sent_page.content.decode()
    # Marie opens it: the banner asks; nothing is sent until she clicks.
    uid = uid_of(directory[MARIE], outgoing.message_id)
    reader = client_for(marie)
    message_url = reverse("mail-message", args=[directory[MARIE].pk, uid])
    assert "demande un accusé de lecture" in reader.get(message_url).content.decode()
    assert Outgoing.objects.filter(mailbox=directory[MARIE]).count() == 0
    reader.post(reverse("mail-mdn", args=[directory[MARIE].pk, uid]) + "?folder=INBOX")
    mdn = Outgoing.objects.get(mailbox=directory[MARIE])
    sent(mdn.pk)
    assert "demande un accusé de lecture" not in reader.get(message_url).content.decode()
    reader.post(reverse("mail-mdn", args=[directory[MARIE].pk, uid]) + "?folder=INBOX")
    assert Outgoing.objects.filter(mailbox=directory[MARIE]).count() == 1  # never twice
    wait_until(lambda: in_folder(directory[KARIM], mdn.message_id), seconds=30)
    receipt_actions.do_collect_receipts(directory[KARIM])
    read = Receipt.objects.get(kind="mdn")
    assert (read.outgoing, read.recipient, read.action) == (outgoing, MARIE, "displayed")
    assert (
        receipt_actions.do_collect_receipts(directory[KARIM]) == 0
    )  # collecting twice adds nothing
    outbox = client_for(karim).get(reverse("mail-outbox", args=[directory[KARIM].pk]))
    text = outbox.content.decode()
    assert f"Remis à {MARIE}" in text and f"Lu par {MARIE}" in text
    assert AuditEvent.objects.filter(action="mdn.send", actor=marie).exists()
    # Issue 17: incremental. What was read once is not read again (its cost would grow with
    # the mailbox's history, every minute); forgotten marks only cost one full read.
    from django.core.cache import cache

    Receipt.objects.filter(kind="mdn").delete()  # were it read again, it would come back
    assert receipt_actions.do_collect_receipts(directory[KARIM]) == 0
    assert not Receipt.objects.filter(kind="mdn").exists()
    with imap_session(directory[KARIM]) as client:
        inbox = client.select_folder("INBOX", readonly=True)
    seen = f"{inbox[b'UIDVALIDITY']}:{inbox[b'UIDNEXT'] - 1}"
    assert cache.get(f"webmail:receipts:seen:{directory[KARIM].pk}") == seen


def test_it_parses_a_failure_report() -> None:
    report = receipts.parse((FIXTURES / "dsn_failed.eml").read_bytes())
    assert report is not None and report.kind == "dsn" and report.envelope_id == "42"
    [entry] = report.entries
    assert entry.recipient == "inconnu@hopital-c.mssante.test"
    assert (entry.action, entry.status) == ("failed", "5.1.1")
    assert "User unknown" in entry.diagnostic


def test_it_ignores_what_is_not_a_report() -> None:
    assert receipts.parse((FIXTURES / "plain_latin1.eml").read_bytes()) is None
    assert receipts.parse(b"Content-Type: multipart/report; report-type=x\r\n\r\n") is None


def report_about(mailbox: Mailbox, message_id: str) -> bytes | None:
    """The delivery report about a sent message (RET=HDRS: it quotes the Message-ID), in
    INBOX or already filed away by a collection."""
    with imap_session(mailbox) as client:
        for folder in ("INBOX", django_settings.WEBMAIL_RECEIPTS_FOLDER):
            if not client.folder_exists(folder):
                continue
            client.select_folder(folder, readonly=True)
            uids = client.search(["HEADER", "Content-Type", "report", "TEXT", message_id])
            if uids:
                return bytes(client.fetch(uids, [b"BODY.PEEK[]"])[uids[0]][b"BODY[]"])
    return None


def through_the_mx(raw: bytes, to: str, envelope_from: str = "") -> None:
    """Mail from outside, as anyone may send it to the mailbox."""
    message = email.message_from_bytes(raw, policy=default)
    for name in ("Return-Path", "Delivered-To", "Message-ID"):
        del message[name]
    message["Message-ID"] = message_id = f"<{uuid.uuid4()}@hopital-c.mssante.test>"
    with smtplib.SMTP("127.0.0.1", int(os.environ["OPERATOR_MX_PORT"]), timeout=10) as smtp:
        smtp.sendmail(envelope_from, [to], message.as_bytes(policy=SMTP_POLICY))
    wait_until(lambda: in_folder(Mailbox(address=to, access=Mailbox.Access.MASTER), message_id))


def test_it_records_no_forged_delivery_or_read_report(
    worker: None, directory: dict[str, Mailbox], karim: User
) -> None:
    page = client_for(karim).post(
        reverse("mail-compose", args=[directory[KARIM].pk]),
        {"to": MARIE, "subject": "Avis", "text": "Bonjour", "request_dsn": "on"},
    )
    assert page.status_code == 302
    outgoing = sent(Outgoing.objects.get().pk)
    genuine = wait_until(lambda: report_about(directory[KARIM], outgoing.message_id), seconds=30)
    assert isinstance(genuine, bytes)
    text = genuine.decode()
    envid = re.search(r"Original-Envelope-Id: (\S+)", text).group(1)  # type: ignore[union-attr]
    daemon = re.search(r"^From: (\S+)", text, re.M).group(1)  # type: ignore[union-attr]
    # Anyone may mail the mailbox; each forgery changes one thing of the genuine report.
    through_the_mx(text.replace(f"From: {daemon}", f"From: {OUTSIDER}").encode(), KARIM)
    guessed = re.sub(r"Original-Envelope-Id: \S+", f"Original-Envelope-Id: {outgoing.pk}", text)
    through_the_mx(guessed.replace(MARIE, OUTSIDER).encode(), KARIM)
    through_the_mx(text.replace(MARIE, OUTSIDER).encode(), KARIM)
    assert envid in text
    original = EmailMessage()
    original["Message-ID"], original["Subject"] = outgoing.message_id, "Avis"
    forged_mdn = receipts.build_mdn(Mailbox(address=OUTSIDER, label="Intrus"), original, KARIM)
    through_the_mx(forged_mdn.as_bytes(policy=SMTP_POLICY), KARIM, OUTSIDER)
    for_marie = receipts.build_mdn(Mailbox(address=MARIE, label="Marie"), original, KARIM)
    for_marie.replace_header("From", OUTSIDER)  # speaks for someone else than its sender
    through_the_mx(for_marie.as_bytes(policy=SMTP_POLICY), KARIM, OUTSIDER)
    receipt_actions.do_collect_receipts(directory[KARIM])
    assert list(Receipt.objects.values_list("kind", "recipient")) == [("dsn", MARIE)]
    outbox = client_for(karim).get(reverse("mail-outbox", args=[directory[KARIM].pk]))
    assert OUTSIDER not in outbox.content.decode()


def test_it_vouches_only_for_people_written_to_masked_patients_included() -> None:
    patient = "1234567890123@patient.mssante.fr"
    sent_row = Outgoing(recipients=[MARIE, "***@patient.mssante.fr"])  # as masked once sent
    dsn = receipts.Report("dsn", "<r@x>", "mailer-daemon@mx.operateur-a.mssante.test")
    assert receipt_actions.vouched(sent_row, dsn, receipts.Entry(patient, "delivered")) == (
        "***@patient.mssante.fr"
    )
    assert receipt_actions.vouched(sent_row, dsn, receipts.Entry(OUTSIDER, "delivered")) == ""
    by_original = receipts.Entry("alias@x.test", "delivered", original_recipient=MARIE)
    assert receipt_actions.vouched(sent_row, dsn, by_original) == MARIE
    mdn = receipts.Report("mdn", "<r@x>", OUTSIDER)
    assert receipt_actions.vouched(sent_row, mdn, receipts.Entry(MARIE, "displayed")) == ""
    mdn.sender = MARIE
    assert receipt_actions.vouched(sent_row, mdn, receipts.Entry(MARIE, "displayed")) == MARIE


def test_it_collects_a_mon_espace_sante_bounce_that_is_no_report(
    directory: dict[str, Mailbox], karim: User
) -> None:
    """RCPT (c): collection also reads what Mon espace santé sends that is no DSN (found by
    its From), matched to the sent message and explained in French on the outbox."""
    from tests.documents.test_receipts import MES_MAIL, SENT_ID

    mailbox = directory[KARIM]
    Outgoing.objects.create(
        mailbox=mailbox, author=karim, message_id=SENT_ID, envelope_from=KARIM,
        recipients=["***@patient.mssante.fr"], status=Outgoing.Status.SENT,
    )  # fmt: skip
    with imap_session(mailbox) as client:
        client.append("INBOX", MES_MAIL.replace(b"alice@operateur-a.mssante.test", KARIM.encode()))
    receipt_actions.do_collect_receipts(mailbox)
    assert list(Receipt.objects.values_list("recipient", "action")) == [
        ("***@patient.mssante.fr", "failed")
    ]
    outbox = client_for(karim).get(reverse("mail-outbox", args=[mailbox.pk]))
    assert "usager introuvable dans Mon espace santé" in outbox.content.decode()
