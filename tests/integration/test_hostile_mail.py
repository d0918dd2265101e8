"""Hostile structure: one bad message never stops anything else (collection, sync, reader)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from pytest_django import Settings

from mailboxes.actions import receipts as receipt_actions
from mailboxes.mail import mime
from mailboxes.models import Mailbox, MessageIndex, Outgoing, Receipt, User
from mailboxes.operator.imap import imap_session
from tests.conftest import client_for
from tests.hostile import nested, wide
from tests.integration.helpers import lmtp_deliver, synced, wait_until
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MARIE = "marie.durand@operateur-a.mssante.test"
KARIM = "karim.benali@hopital-c.mssante.test"
NOTICE = "Ce message est trop imbriqué pour être affiché"


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    settings.WEBMAIL_SEND_RETRY_SECONDS = 1
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def report_about(mailbox: Mailbox, message_id: str) -> bool:
    with imap_session(mailbox) as client:
        client.select_folder("INBOX", readonly=True)
        return bool(client.search(["HEADER", "Content-Type", "report", "TEXT", message_id]))


def test_it_records_genuine_reports_past_a_deeply_nested_message(
    worker: None, directory: dict[str, Mailbox], karim: User
) -> None:
    raw, message_id = nested(3000)
    lmtp_deliver(directory[KARIM], raw, message_id)
    page = client_for(karim).post(
        reverse("mail-compose", args=[directory[KARIM].pk]),
        {"to": MARIE, "subject": "Avis", "text": "Bonjour", "request_dsn": "on"},
    )
    assert page.status_code == 302
    wait_until(lambda: Outgoing.objects.get().status == "sent", seconds=60)
    message_id = Outgoing.objects.get().message_id
    wait_until(lambda: report_about(directory[KARIM], message_id), seconds=30)
    receipt_actions.do_collect_receipts(
        directory[KARIM]
    )  # raised RecursionError; the worker may collect too
    assert Receipt.objects.get().recipient == MARIE


def test_it_opens_a_deeply_nested_message_with_a_notice_and_its_download(
    directory: dict[str, Mailbox], karim: User
) -> None:
    raw, message_id = nested(3000)
    mailbox = directory[KARIM]
    uid = lmtp_deliver(mailbox, raw, message_id)
    client = client_for(karim)
    page = client.get(reverse("mail-message", args=[mailbox.pk, uid]))
    assert page.status_code == 200
    html = page.content.decode()
    assert NOTICE in html
    assert reverse("mail-raw", args=[mailbox.pk, uid]) in html
    assert client.get(reverse("mail-body", args=[mailbox.pk, uid])).status_code == 404
    assert client.get(reverse("mail-part", args=[mailbox.pk, uid, 1])).status_code == 404
    compose = reverse("mail-compose", args=[mailbox.pk])
    for query in (f"reply={uid}", f"reply_all={uid}", f"forward={uid}"):
        answer = client.get(f"{compose}?{query}")
        assert answer.status_code == 200, query
        assert "Re: Imbrication" in answer.content.decode() or "forward" in query
    for forward_as in ("inline", "attachment"):  # sending it on is refused, with a reason
        form = {"to": MARIE, "subject": "Tr", "forward_uid": uid, "forward_as": forward_as}
        refused = client.post(compose, {**form, "forward_folder": "INBOX"})
        assert "Ce message est trop imbriqué pour être transféré." in refused.content.decode()
    assert not Outgoing.objects.exists()
    raw_page = client.get(reverse("mail-raw", args=[mailbox.pk, uid]))
    assert raw_page.status_code == 200 and raw_page.content.endswith(raw)  # + Return-Path...


def test_it_syncs_a_deeply_nested_message(directory: dict[str, Mailbox]) -> None:
    raw, message_id = nested(3000)
    mailbox = directory[KARIM]
    uid = lmtp_deliver(mailbox, raw, message_id)
    synced(mailbox)
    indexed = MessageIndex.objects.get(folder__mailbox=mailbox, uid=uid)
    assert indexed.message_id == message_id and indexed.subject == "Imbrication"


def test_it_opens_a_10000_part_message_parsing_it_once_per_request(
    directory: dict[str, Mailbox], karim: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, message_id = wide(10_000, body="html")
    mailbox = directory[KARIM]
    uid = lmtp_deliver(mailbox, raw, message_id)
    calls = []
    parse = mime.message
    monkeypatch.setattr(mime, "message", lambda raw: calls.append(1) or parse(raw))
    client = client_for(karim)
    page = client.get(reverse("mail-message", args=[mailbox.pk, uid]))
    html = page.content.decode()
    assert page.status_code == 200 and "piece-0.pdf" in html and "piece-499.pdf" in html
    assert "Et 9500 autres pièces jointes : téléchargez le message (.eml)" in html
    assert len(calls) == 1
    calls.clear()
    frame = client.get(reverse("mail-body", args=[mailbox.pk, uid]))
    assert frame.status_code == 200 and "Voir les pieces jointes." in frame.content.decode()
    assert len(calls) == 1


def test_it_syncs_a_10000_part_message(directory: dict[str, Mailbox]) -> None:
    raw, message_id = wide(10_000)
    mailbox = directory[KARIM]
    uid = lmtp_deliver(mailbox, raw, message_id)
    synced(mailbox)  # its BODYSTRUCTURE is one 1.4 MB line
    indexed = MessageIndex.objects.get(folder__mailbox=mailbox, uid=uid)
    assert indexed.has_attachments and indexed.preview == "Voir les pieces jointes."


def test_a_malformed_address_or_a_nul_byte_never_stops_the_sync_or_the_reader(
    directory: dict[str, Mailbox], karim: User
) -> None:
    """Issue 17: "To: a@" made the email package raise on every read (the reader, reply and
    forward answered 500); a NUL byte made PostgreSQL refuse the folder's rows for good."""
    mailbox = directory[KARIM]
    message_id = "<malformed-address@operateur-a.mssante.test>"
    raw = (
        b"From: a@\r\nTo: a@, " + KARIM.encode() + b"\r\nCc: <@>\r\nReply-To: a@\r\n"
        b"Subject: Bilan\x00 =?utf-8?q?sanguin=00?=\r\n"
        b"Message-ID: " + message_id.encode() + b"\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nR\xc3\xa9sultats\x00 normaux.\r\n"
    )
    uid = lmtp_deliver(mailbox, raw, message_id)
    synced(mailbox)  # on PostgreSQL: a NUL in a text column raised DataError here
    indexed = MessageIndex.objects.get(folder__mailbox=mailbox, uid=uid)
    # Dovecot itself turns a raw NUL into 0x80 (shown as U+FFFD); the encoded one is ours.
    assert indexed.subject in ("Bilan sanguin", "Bilan\ufffd sanguin")
    assert "normaux" in indexed.preview and "\x00" not in indexed.preview
    assert indexed.recipients == KARIM
    client = client_for(karim)
    page = client.get(reverse("mail-message", args=[mailbox.pk, uid]))
    assert page.status_code == 200 and "sanguin" in page.content.decode()
    compose = reverse("mail-compose", args=[mailbox.pk])
    for query in (f"reply={uid}", f"reply_all={uid}", f"forward={uid}"):
        assert client.get(f"{compose}?{query}").status_code == 200, query
