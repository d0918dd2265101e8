"""A mailbox reached with the person's Pro Santé Connect token (XOAUTH2) sends, copies to
Sent and collects its delivery report, all in the person's requests: no worker ever holds a
token (CONF.28). Against Dovecot + Postfix checking the look-alike's real tokens."""

from __future__ import annotations

import re

import pytest
import requests
from django.conf import settings
from django.core.cache import cache

from mailboxes.mailcache import live
from mailboxes.models import Mailbox, Outgoing, Receipt
from mailboxes.operator import imap
from tests.conftest import OperatorBackend
from tests.integration.helpers import psc_login, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MARIE = "marie.durand@operateur-a.mssante.test"
KARIM = "karim.benali@hopital-c.mssante.test"


def as_master(address: str) -> Mailbox:
    """The same mailbox seen through the master user, to check what reached the operator."""
    return Mailbox(address=address, access=Mailbox.Access.MASTER)


def found(address: str, folder: str, *criteria: str) -> int:
    with imap.imap_session(as_master(address)) as client:
        if not client.folder_exists(folder):
            return 0
        client.select_folder(folder, readonly=True)
        return len(client.search(list(criteria)))


def write(browser: requests.Session, live_url: str, mailbox: Mailbox, subject: str) -> None:
    url = f"{live_url}/mailbox/{mailbox.pk}/compose/"
    page = browser.get(url, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    sent = browser.post(
        url,
        data={
            "csrfmiddlewaretoken": token.group(1),
            "to": MARIE,
            "subject": subject,
            "text": "Bonjour,\nle compte rendu suit.",
            "request_dsn": "on",
            "from_mailbox": str(mailbox.pk),
        },
        headers={"Referer": url},
        timeout=30,
    )
    assert sent.status_code == 200 and "/outbox/" in sent.url, sent.text[:1000]


@pytest.fixture
def karim_by_token(directory: dict[str, Mailbox]) -> Mailbox:
    Mailbox.objects.filter(address=KARIM).update(access=Mailbox.Access.XOAUTH2)
    return Mailbox.objects.get(address=KARIM)


def test_it_sends_copies_and_collects_the_report_with_the_persons_token(
    live_url: str, karim_by_token: Mailbox
) -> None:
    browser, _ = psc_login(live_url, "karim")
    write(browser, live_url, karim_by_token, "Compte rendu de coronarographie")
    outgoing = Outgoing.objects.get(mailbox=karim_by_token)
    # No worker runs in this test: it left in the request itself.
    assert outgoing.status == Outgoing.Status.SENT and outgoing.copied_to_sent
    assert found(MARIE, "INBOX", "HEADER", "Message-ID", outgoing.message_id) == 1
    assert found(KARIM, "Sent", "HEADER", "Message-ID", outgoing.message_id) == 1
    envid = f"Original-Envelope-Id: {outgoing.envelope_id}"
    # In INBOX, or already filed away if a request of Karim's collected it (issue 15).
    filed = settings.WEBMAIL_RECEIPTS_FOLDER
    assert wait_until(
        lambda: found(KARIM, "INBOX", "BODY", envid) or found(KARIM, filed, "BODY", envid),
        seconds=30,
    )
    live.client().delete(f"webmail:sync:asked:{karim_by_token.pk}")  # as 30 s later
    page = browser.get(f"{live_url}/mailbox/{karim_by_token.pk}/?folder=INBOX", timeout=30)
    assert page.status_code == 200
    assert wait_until(
        lambda: Receipt.objects.filter(outgoing=outgoing, kind="dsn").exists(), seconds=10
    )


def test_a_message_that_could_not_leave_waits_for_the_persons_next_request(
    live_url: str, karim_by_token: Mailbox, operator_backend: OperatorBackend
) -> None:
    browser, _ = psc_login(live_url, "karim")
    operator_backend.stop("postfix")
    try:
        write(browser, live_url, karim_by_token, "Avis de sortie")
        outgoing = Outgoing.objects.get(mailbox=karim_by_token)
        assert outgoing.status == Outgoing.Status.QUEUED
        outbox = browser.get(f"{live_url}/mailbox/{karim_by_token.pk}/outbox/", timeout=10)
        assert "En attente de votre connexion" in outbox.text
    finally:
        operator_backend.start("postfix")
    cache.delete(f"webmail:send-waiting:{outgoing.author_id}")  # a minute later
    browser.get(f"{live_url}/notifications/", timeout=30)  # any page of the person's
    outgoing.refresh_from_db()
    assert outgoing.status == Outgoing.Status.SENT
    assert found(MARIE, "INBOX", "HEADER", "Message-ID", outgoing.message_id) == 1
