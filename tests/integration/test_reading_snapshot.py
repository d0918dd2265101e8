"""A message opened again is drawn from the reader's snapshot (webmail/snapshots.py), not
from the operator (issue 16), and opening never moves the mailbox's version (issue 17)."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from email.message import EmailMessage

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mailboxes.mailcache import live
from mailboxes.models import AuditEvent, Delegation, Folder, Mailbox, User
from mailboxes.operator import imap
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, flags_of, synced, uid_of
from webmail.demo import messages

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("demo_mail")]


def demo(key: str) -> messages.DemoMessage:
    return next(m for m in messages.MESSAGES if m.key == key)


def html_message() -> EmailMessage:
    """A message of this test's own (the demo's are shared by the whole session)."""
    message = EmailMessage()
    message["Subject"] = "Convocation en consultation"
    message.set_content("Rendez-vous salle 2, bâtiment B.")
    message.add_alternative("<p>Rendez-vous <b>Salle 2, bâtiment B</b>.</p>", subtype="html")
    return message


def expunge_behind_our_back(mailbox: Mailbox, uid: int) -> None:
    """Gone at the operator, the cache not told (no sync yet)."""
    with imap.imap_session(mailbox) as client:
        client.select_folder("INBOX")
        client.delete_messages([uid])
        client.expunge()


def frame_of(html: str) -> str:
    found = re.search(r'<iframe class="body"[^>]* src="([^"]+)"', html)
    assert found, "no body frame"
    return found.group(1).replace("&amp;", "&")


def test_a_message_opened_again_is_drawn_without_the_operator(
    marie: User, marie_mailbox: Mailbox
) -> None:
    message = html_message()  # the page and its body frame
    uid = deliver_to(marie_mailbox, message)
    synced(marie_mailbox)
    client = client_for(marie)
    url = reverse("mail-message", args=[marie_mailbox.pk, uid])
    first = client.get(url)
    assert first.status_code == 200
    expunge_behind_our_back(marie_mailbox, uid)

    again = client.get(url)  # the snapshot and the sync's word that the message exists
    assert again.status_code == 200
    assert "Convocation en consultation" in again.content.decode()
    body = client.get(frame_of(again.content.decode()))
    assert body.status_code == 200 and "Salle 2, bâtiment B" in body.content.decode()
    assert "default-src 'none'" in body["Content-Security-Policy"]
    # Audited each time, with its Message-ID, as when it came from the operator.
    targets = list(
        AuditEvent.objects.filter(action="message.read").values_list("target", flat=True)
    )
    assert targets == [f"INBOX/{uid} {message['Message-ID']}"] * 2

    synced(marie_mailbox)  # now the cache knows: gone
    assert client.get(url).status_code == 404


def test_opening_marks_read_without_moving_the_mailbox_version(
    marie: User, marie_mailbox: Mailbox
) -> None:
    uid = deliver_to(marie_mailbox, html_message())  # unread (the demo's may be read)
    synced(marie_mailbox)
    inbox = Folder.objects.get(mailbox=marie_mailbox, name="INBOX")
    unseen = inbox.unseen
    assert not inbox.index.get(uid=uid).seen
    version = live.version(marie_mailbox.pk)

    client_for(marie).get(reverse("mail-message", args=[marie_mailbox.pk, uid]))

    inbox.refresh_from_db()
    assert inbox.index.get(uid=uid).seen and inbox.unseen == unseen - 1
    assert b"\\Seen" in flags_of(marie_mailbox, uid)
    assert live.version(marie_mailbox.pk) == version  # nobody else's list redraws for it


def test_a_kept_message_marked_unread_is_marked_read_again_at_the_operator(
    marie: User, marie_mailbox: Mailbox
) -> None:
    synced(marie_mailbox)
    uid = uid_of(marie_mailbox, demo("01").message_id)
    client = client_for(marie)
    url = reverse("mail-message", args=[marie_mailbox.pk, uid])
    client.get(url)  # kept now
    imap.set_flag(marie_mailbox, "INBOX", [uid], b"\\Seen", False)
    synced(marie_mailbox)
    inbox = Folder.objects.get(mailbox=marie_mailbox, name="INBOX")
    assert not inbox.index.get(uid=uid).seen

    assert client.get(url).status_code == 200

    assert b"\\Seen" in flags_of(marie_mailbox, uid)
    assert inbox.index.get(uid=uid).seen


def test_a_rebuilt_folder_never_shows_an_old_snapshot(marie: User, marie_mailbox: Mailbox) -> None:
    uid = deliver_to(marie_mailbox, html_message())
    synced(marie_mailbox)
    client = client_for(marie)
    url = reverse("mail-message", args=[marie_mailbox.pk, uid])
    client.get(url)
    expunge_behind_our_back(marie_mailbox, uid)
    # As if the operator had rebuilt the folder: another UIDVALIDITY, UIDs that mean
    # other messages. The snapshot's key holds the UIDVALIDITY: it is not found.
    Folder.objects.filter(mailbox=marie_mailbox, name="INBOX").update(uidvalidity=1)
    assert client.get(url).status_code == 404


def test_a_message_opened_again_costs_five_queries_and_its_places_follow_the_mailbox(
    marie: User,
    marie_mailbox: Mailbox,
    django_assert_max_num_queries: Callable[[int], AbstractContextManager[object]],
) -> None:
    """Issue 16: the person, the mailbox with their role on it (one look-up), the message's
    row, the audit event and nothing else; its previous/next, conversation and "Move to"
    list are kept per mailbox version, so new mail moves them at once."""
    message = html_message()
    uid = deliver_to(marie_mailbox, message)
    synced(marie_mailbox)
    client = client_for(marie)
    url = reverse("mail-message", args=[marie_mailbox.pk, uid]) + "?folder=INBOX"
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(4 + 1):  # the session's user too
        again = client.get(url).content.decode()
    newer = html_message()
    newer.replace_header("Subject", "Plus récent")
    newer_uid = deliver_to(marie_mailbox, newer)
    synced(marie_mailbox)  # the version moves
    assert f"message/{newer_uid}/?" not in again
    after = client.get(url).content.decode()
    assert f"message/{newer_uid}/?" in after  # "previous" now leads to the newest


def looked_up(client: object, url: str) -> tuple[int, str, bool]:
    """The frame's answer, and whether it looked the message's row up."""
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url)  # type: ignore[attr-defined]
    looked = any("mailboxes_messageindex" in q["sql"] for q in queries.captured_queries)
    return answer.status_code, answer.content.decode(), looked


def test_the_frame_reads_the_body_by_its_pages_token_in_that_session_only(
    marie: User,
    marie_mailbox: Mailbox,
    django_assert_max_num_queries: Callable[[int], AbstractContextManager[object]],
) -> None:
    """Issue 16: the page just looked the message up; its frame, by the signed token the page
    gives it, costs the session's user and the access check, not the message's row. Another
    session's token, another message's, or a forged one: looked up as before."""
    uid = deliver_to(marie_mailbox, html_message())
    other_uid = deliver_to(marie_mailbox, html_message())
    synced(marie_mailbox)
    client = client_for(marie)
    url = reverse("mail-message", args=[marie_mailbox.pk, uid]) + "?folder=INBOX"
    frame = frame_of(client.get(url).content.decode())
    assert "&t=" in frame
    with django_assert_max_num_queries(2):  # the session's user, the mailbox with the role
        body = client.get(frame)
    assert body.status_code == 200 and "Salle 2, bâtiment B" in body.content.decode()
    assert "default-src 'none'" in body["Content-Security-Policy"]

    status, content, looked = looked_up(client_for(marie), frame)  # her other browser
    assert (status, looked) == (200, True) and "Salle 2, bâtiment B" in content
    elsewhere = frame.replace(f"/message/{uid}/", f"/message/{other_uid}/")
    assert elsewhere != frame
    assert looked_up(client, elsewhere)[::2] == (200, True)  # not this message's token
    token = frame.split("&t=")[1]
    forged = frame.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert looked_up(client, forged)[::2] == (200, True)


def test_a_revoked_delegate_s_frame_token_opens_nothing(
    jeanne: User, directory: dict[str, Mailbox]
) -> None:
    pharmacy = directory["pharmacie.marche@operateur-a.mssante.test"]
    secretary = User.objects.create_user("secretaire-frame", subject_name_id="810000000098")
    delegation = Delegation.objects.create(person=secretary, mailbox=pharmacy, role="triage")
    uid = deliver_to(pharmacy, html_message())
    synced(pharmacy)
    client = client_for(secretary)
    url = reverse("mail-message", args=[pharmacy.pk, uid]) + "?folder=INBOX"
    frame = frame_of(client.get(url).content.decode())
    assert client.get(frame).status_code == 200
    delegation.revoked_at = timezone.now()
    delegation.save()
    assert client.get(frame).status_code == 404
