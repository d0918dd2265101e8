"""Property-based, against the real Dovecot and PostgreSQL: generated hostile messages among
good ones never stop a folder's sync nor the collection of delivery reports (issue 17)."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imapclient.exceptions import IMAPClientError

from mailboxes.actions import receipts
from mailboxes.mailcache import sync
from mailboxes.models import Folder, Mailbox, MessageIndex, Outgoing, Receipt, User
from mailboxes.operator import imap
from tests.conftest import OperatorBackend
from tests.integration.helpers import fresh_mailbox
from tests.strategies import hostile_message

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
# Each example stores messages at the operator and syncs them: a few, not hundreds.
BOUNDED = settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
DAEMON = "MAILER-DAEMON@mx.operateur-a.mssante.test"  # OPERATOR_REPORTING_ADDRESSES


@pytest.fixture
def mailbox(operator_backend: OperatorBackend) -> Mailbox:
    return fresh_mailbox(operator_backend, "fuzz")


def good(n: int) -> tuple[bytes, str]:
    message_id = f"<good-{n}-{uuid.uuid4().hex}@hopital-c.mssante.test>"
    raw = ("From: Dr Karim BENALI <karim.benali@hopital-c.mssante.test>\r\n"
           f"Subject: Courrier sain {n}\r\nMessage-ID: {message_id}\r\n\r\nBonjour\r\n")  # fmt: skip
    return raw.encode(), message_id


def stored(client: imap.IMAPClient, folder: str, raw: bytes) -> bool:
    """APPEND as another client would; False when the operator itself refuses the bytes."""
    try:
        client.append(folder, raw)
    except IMAPClientError:
        return False
    return True


@BOUNDED
@given(st.lists(hostile_message(), min_size=1, max_size=5))
def test_hostile_messages_never_stop_a_folders_sync(mailbox: Mailbox, hostile: list[bytes]) -> None:
    folder = f"Fuzz-{uuid.uuid4().hex[:8]}"
    goods = []
    with imap.imap_session(mailbox) as client:
        client.create_folder(folder)
        for n, raw in enumerate(hostile):
            stored(client, folder, raw)
            message, message_id = good(n)
            assert stored(client, folder, message)
            goods.append(message_id)
        client.select_folder(folder, readonly=True)
        on_server = set(client.search(["ALL"]))
    sync.sync_mailbox(mailbox)
    cached = Folder.objects.get(mailbox=mailbox, name=folder).index
    assert set(cached.values_list("uid", flat=True)) == on_server  # every one, the bad too
    assert set(cached.filter(message_id__in=goods).values_list("message_id", flat=True)) == set(
        goods
    )
    for row in cached.all():
        for text in (row.subject, row.sender_name, row.sender_address, row.recipients, row.preview):
            assert "\x00" not in text


@BOUNDED
@given(st.lists(hostile_message(), min_size=1, max_size=4))
def test_hostile_reports_never_stop_the_collection_of_a_real_one(
    mailbox: Mailbox, marie: User, hostile: list[bytes]
) -> None:
    envelope = uuid.uuid4().hex
    outgoing = Outgoing.objects.create(
        mailbox=mailbox, author=marie, message_id=f"<{envelope}@operateur-a.mssante.test>",
        envelope_from=mailbox.address, envelope_id=envelope, status=Outgoing.Status.SENT,
        sent_at=timezone.now(), recipients=["karim.benali@hopital-c.mssante.test"],
    )  # fmt: skip
    report = (
        f"From: {DAEMON}\r\nTo: {mailbox.address}\r\nSubject: Delivery report\r\n"
        f"Message-ID: <dsn-{envelope}@mx.operateur-a.mssante.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/plain\r\n\r\nDelivered.\r\n"
        f"--r\r\nContent-Type: message/delivery-status\r\n\r\nOriginal-Envelope-Id: {envelope}\r\n"
        "Reporting-MTA: dns; mx.operateur-a.mssante.test\r\n\r\n"
        "Final-Recipient: rfc822; karim.benali@hopital-c.mssante.test\r\n"
        "Action: delivered\r\nStatus: 2.0.0\r\n\r\n--r--\r\n"
    ).encode()
    with imap.imap_session(mailbox) as client:
        for raw in hostile:  # posing as reports: from a reporting domain, before the real one
            stored(client, "INBOX", f"From: {DAEMON}\r\n".encode() + raw)
        assert stored(client, "INBOX", report)
    receipts.do_collect_receipts(mailbox)
    assert Receipt.objects.filter(outgoing=outgoing, action="delivered").exists()


@settings(BOUNDED, max_examples=2)
@given(st.lists(hostile_message(), min_size=10, max_size=10))
def test_the_examples_really_reach_the_operator(mailbox: Mailbox, hostile: list[bytes]) -> None:
    """The properties above hold only if the bad messages get stored: most do."""
    folder = f"Fuzz-{uuid.uuid4().hex[:8]}"
    with imap.imap_session(mailbox) as client:
        client.create_folder(folder)
        kept = sum(stored(client, folder, raw) for raw in hostile)
    assert kept >= 5
    sync.sync_mailbox(mailbox)
    assert MessageIndex.objects.filter(folder__mailbox=mailbox, folder__name=folder).count() == kept
