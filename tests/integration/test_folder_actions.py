"""Actions and forms posted from a folder other than INBOX act on that folder's message, never
on the INBOX message that happens to have the same UID (issue 10, item 2)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse

from mailboxes.mail import receipts
from mailboxes.models import AuditEvent, Mailbox, User
from mailboxes.operator.imap import appended_uid, imap_session
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, flags_of, in_folder

pytestmark = pytest.mark.integration
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"
USER_FOLDER = "Suivi cardiologie"
FOLDERS = ("Sent", "Drafts", "Archive", "Junk", "Trash", USER_FOLDER)
FLAG_ACTIONS = {  # action: (flag, set before, set after)
    "read": (b"\\Seen", False, True),
    "unread": (b"\\Seen", True, False),
    "flag": (b"\\Flagged", False, True),
    "unflag": (b"\\Flagged", True, False),
}


@pytest.fixture
def jeanne_mailbox(directory: dict[str, Mailbox]) -> Mailbox:
    mailbox = directory[JEANNE]
    with imap_session(mailbox) as client:
        if not client.folder_exists(USER_FOLDER):
            client.create_folder(USER_FOLDER)
    return mailbox


@pytest.fixture
def jeanne(jeanne_mailbox: Mailbox) -> User:
    assert jeanne_mailbox.owner is not None
    return jeanne_mailbox.owner


def note(subject: str, delivered: bool = False) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Dr Karim BENALI <karim.benali@hopital-c.mssante.test>"
    if not delivered:  # deliver_to gives its own
        message["Message-ID"] = f"<{uuid.uuid4()}@hopital-c.mssante.test>"
    message.set_content("x")
    return message


def append_to(mailbox: Mailbox, folder: str, message: EmailMessage) -> int:
    with imap_session(mailbox) as client:
        uid = appended_uid(client.append(folder, message.as_bytes(), flags=()))
    assert uid
    return uid


def inbox_uids(mailbox: Mailbox) -> tuple[set[int], int]:
    with imap_session(mailbox) as client:
        status = client.folder_status("INBOX", [b"UIDNEXT"])
        client.select_folder("INBOX", readonly=True)
        return set(client.search(["ALL"])), int(status[b"UIDNEXT"])


def twins(
    mailbox: Mailbox, folder: str, make: Callable[[], EmailMessage] | None = None
) -> tuple[int, str, str]:
    """A message in `folder` and one in INBOX with the same UID: (uid, folder's Message-ID,
    INBOX's Message-ID)."""
    for _ in range(200):
        existing, uidnext = inbox_uids(mailbox)
        theirs = make() if make else note(f"Dans {folder}")
        uid = append_to(mailbox, folder, theirs)
        if uid in existing:
            return uid, theirs["Message-ID"], inbox_message_id(mailbox, uid)
        if uid >= uidnext:  # INBOX has not got this far yet: deliver until it has
            while True:
                inbox = deliver_to(mailbox, note("Dans la boîte de réception", delivered=True))
                if inbox >= uid:
                    break
            if inbox == uid:
                return uid, theirs["Message-ID"], inbox_message_id(mailbox, uid)
    raise AssertionError(f"no INBOX twin for a message in {folder}")


def inbox_message_id(mailbox: Mailbox, uid: int) -> str:
    with imap_session(mailbox) as client:
        client.select_folder("INBOX", readonly=True)
        data = client.fetch([uid], [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])[uid]
    header = data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode()
    return header.split(":", 1)[1].strip()


def set_flags(mailbox: Mailbox, folder: str, uid: int, flag: bytes, on: bool) -> None:
    with imap_session(mailbox) as client:
        client.select_folder(folder)
        (client.add_flags if on else client.remove_flags)([uid], [flag])


def post_action(client: Client, mailbox: Mailbox, folder: str, uid: int, action: str) -> int:
    data = {"folder": folder, "uid": [uid], "action": action}
    if action == "move":
        data["target"] = "Archive" if folder == USER_FOLDER else USER_FOLDER
    return client.post(reverse("mail-actions", args=[mailbox.pk]), data).status_code


@pytest.mark.parametrize("folder", FOLDERS)
def test_it_flags_the_message_of_the_folder_it_was_posted_from(
    jeanne: User, jeanne_mailbox: Mailbox, folder: str
) -> None:
    client = client_for(jeanne)
    uid, _, _ = twins(jeanne_mailbox, folder)
    for action, (flag, before, after) in FLAG_ACTIONS.items():
        set_flags(jeanne_mailbox, folder, uid, flag, before)
        set_flags(jeanne_mailbox, "INBOX", uid, flag, before)
        assert post_action(client, jeanne_mailbox, folder, uid, action) == 302
        assert (flag in flags_of(jeanne_mailbox, uid, folder)) is after, action
        assert (flag in flags_of(jeanne_mailbox, uid, "INBOX")) is before, action
        event = AuditEvent.objects.filter(action=f"message.{action}").latest("pk")
        assert event.target == f"{folder}/{uid}"


@pytest.mark.parametrize("folder", FOLDERS)
@pytest.mark.parametrize("action", ["archive", "delete", "move"])
def test_it_moves_the_message_of_the_folder_it_was_posted_from(
    jeanne: User, jeanne_mailbox: Mailbox, folder: str, action: str
) -> None:
    client = client_for(jeanne)
    uid, theirs, inbox = twins(jeanne_mailbox, folder)
    destination = {"archive": "Archive", "delete": "Trash"}.get(action)
    if action == "move":
        destination = "Archive" if folder == USER_FOLDER else USER_FOLDER
    status = post_action(client, jeanne_mailbox, folder, uid, action)
    assert in_folder(jeanne_mailbox, inbox)  # the INBOX twin never moves
    event = AuditEvent.objects.filter(action=f"message.{action}").latest("pk")
    assert event.target == f"{folder}/{uid}"
    if destination == folder:  # archiving from Archive, deleting from Trash: nothing to do
        assert status == 400 and in_folder(jeanne_mailbox, theirs, folder)
        return
    assert status == 302
    assert in_folder(jeanne_mailbox, theirs, destination)
    assert not in_folder(jeanne_mailbox, theirs, folder)
    assert event.response == f"move to {destination}"


def test_the_read_receipt_form_answers_the_message_of_its_folder(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    def asking() -> EmailMessage:
        message = note("Accusé demandé")
        message["Disposition-Notification-To"] = "karim.benali@hopital-c.mssante.test"
        return message

    uid, _, _ = twins(jeanne_mailbox, "Archive", asking)
    client = client_for(jeanne)
    page = client.get(
        reverse("mail-message", args=[jeanne_mailbox.pk, uid]), {"folder": "Archive"}
    ).content.decode()
    form = re.search(r'<form method="post" action="([^"]+/mdn/[^"]*)"', page)
    assert form, page
    assert client.post(form.group(1).replace("&amp;", "&")).status_code == 302
    assert receipts.MDN_SENT in flags_of(jeanne_mailbox, uid, "Archive")
    assert receipts.MDN_SENT not in flags_of(jeanne_mailbox, uid, "INBOX")
    event = AuditEvent.objects.filter(action="mdn.send").latest("pk")
    assert event.mailbox == jeanne_mailbox


def test_a_reply_and_a_forward_from_a_folder_quote_that_folders_message(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    uid, _, _ = twins(jeanne_mailbox, "Archive")
    client = client_for(jeanne)
    compose = reverse("mail-compose", args=[jeanne_mailbox.pk])
    for query in ({"reply": uid}, {"reply_all": uid}, {"forward": uid}):
        page = client.get(compose, {"folder": "Archive", **query}).content.decode()
        assert "Dans Archive" in page and "Dans la boîte" not in page, query
