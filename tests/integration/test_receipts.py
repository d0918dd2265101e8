"""Delivery (DSN) and read (MDN) reports, end to end with a real worker, Postfix and Dovecot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from pytest_django import Settings

from mailboxes import receipts
from mailboxes.models import AuditEvent, Mailbox, Outgoing, Receipt, User
from tests.conftest import client_for
from tests.integration.helpers import in_folder, uid_of, wait_until
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MARIE = "marie.durand@operateur-a.mssante.test"
KARIM = "karim.benali@hopital-c.mssante.test"
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
    worker: None, directory: dict[str, Mailbox], marie: User, karim: User
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
    wait_until(lambda: receipts.collect(directory[KARIM]) or Receipt.objects.exists(), seconds=30)
    delivered = Receipt.objects.get(kind="dsn")
    assert (delivered.outgoing, delivered.recipient) == (outgoing, MARIE)
    # "relayed": Dovecot's LMTP does not speak DSN, so Postfix says it handed the message on;
    # for MSSanté's "accusé de réception" both mean the recipient's server accepted it.
    assert delivered.action in ("delivered", "relayed")
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
    receipts.collect(directory[KARIM])
    read = Receipt.objects.get(kind="mdn")
    assert (read.outgoing, read.recipient, read.action) == (outgoing, MARIE, "displayed")
    assert receipts.collect(directory[KARIM]) == 0  # collecting twice adds nothing
    outbox = client_for(karim).get(reverse("mail-outbox", args=[directory[KARIM].pk]))
    text = outbox.content.decode()
    assert f"Remis à {MARIE}" in text and f"Lu par {MARIE}" in text
    assert AuditEvent.objects.filter(action="mdn.send", actor=marie).exists()


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
