"""Triage labels reach the operator as IMAP keywords (RFC 3501 flag-keyword), so other mail
clients see them; removing one clears it there too. Real Dovecot."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailboxes.models import AuditEvent, Mailbox, MessageIndex, User
from mailboxes.operator.imap import imap_session
from tests.integration.helpers import deliver_to, flags_of, synced
from triage import actions
from triage.models import Conversation, Event

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PHARMACY = "pharmacie.marche@operateur-a.mssante.test"


def test_a_label_is_an_imap_keyword_on_the_conversations_messages(
    directory: dict[str, Mailbox], jeanne: User
) -> None:
    mailbox = directory[PHARMACY]
    message = EmailMessage()
    message["Subject"] = "Préparation pilulier"
    message.set_content("Pour jeudi")
    uid = deliver_to(mailbox, message)
    synced(mailbox)
    thread = message["Message-ID"]
    actions.do_set_label(jeanne, mailbox, thread, "urgent", True)
    assert b"urgent" in flags_of(mailbox, uid)
    row = MessageIndex.objects.get(folder__mailbox=mailbox, folder__name="INBOX", uid=uid)
    assert "urgent" in row.keywords
    event = AuditEvent.objects.get(action="message.keyword")
    assert (event.outcome, event.target) == ("ok", f"INBOX/{uid} +urgent")
    actions.do_set_label(jeanne, mailbox, thread, "urgent", False)
    assert b"urgent" not in flags_of(mailbox, uid)


def delivered(mailbox: Mailbox, subject: str, replying_to: str = "") -> tuple[int, str]:
    message = EmailMessage()
    message["Subject"] = subject
    if replying_to:
        message["In-Reply-To"] = message["References"] = replying_to
    message.set_content("Bonjour")
    uid = deliver_to(mailbox, message)
    return uid, str(message["Message-ID"])


def test_a_new_message_of_a_labelled_conversation_gets_its_keywords(
    directory: dict[str, Mailbox], jeanne: User
) -> None:
    mailbox = directory[PHARMACY]
    _, thread = delivered(mailbox, "Commande de bandes")
    synced(mailbox)
    actions.do_set_label(jeanne, mailbox, thread, "urgent", True)
    actions.do_set_label(jeanne, mailbox, thread, "commande", True)
    reply, _ = delivered(mailbox, "Re: Commande de bandes", replying_to=thread)
    synced(mailbox)
    assert {b"urgent", b"commande"} <= set(flags_of(mailbox, reply))
    row = MessageIndex.objects.get(folder__mailbox=mailbox, folder__name="INBOX", uid=reply)
    assert {"urgent", "commande"} <= set(row.keywords)
    unrelated, _ = delivered(mailbox, "Autre chose")
    synced(mailbox)
    assert b"urgent" not in flags_of(mailbox, unrelated)
    event = AuditEvent.objects.filter(action="message.keyword", actor=None).get()
    assert event.outcome == "ok"
    assert f"INBOX/{reply} +" in event.target


def tag_elsewhere(mailbox: Mailbox, uid: int, *keywords: bytes) -> None:
    """Another mail client (Thunderbird, say) tags the message at the operator."""
    with imap_session(mailbox) as client:
        client.select_folder("INBOX")
        client.add_flags([uid], list(keywords))


def test_a_keyword_set_by_another_client_becomes_the_conversations_label(
    directory: dict[str, Mailbox], jeanne: User
) -> None:
    mailbox = directory[PHARMACY]
    _, known = delivered(mailbox, "Pilulier")
    uid, thread = delivered(mailbox, "Ordonnance")
    synced(mailbox)
    actions.do_set_label(jeanne, mailbox, known, "urgent", True)  # a label triage knows
    tag_elsewhere(mailbox, uid, b"urgent", b"NonJunk", b"$MDNSent")
    synced(mailbox)
    conversation = Conversation.objects.get(mailbox=mailbox, thread_key=thread)
    assert conversation.labels == ["urgent"]  # neither NonJunk nor $MDNSent: not labels here
    event = Event.objects.get(conversation=conversation, kind=Event.Kind.LABELLED)
    assert (event.actor, event.value) == (None, "urgent")
    assert AuditEvent.objects.filter(action="triage.label", target=f"{thread} +urgent imap")


def test_a_new_message_tagged_elsewhere_brings_its_known_label(
    directory: dict[str, Mailbox], jeanne: User
) -> None:
    mailbox = directory[PHARMACY]
    _, known = delivered(mailbox, "Pilulier")
    synced(mailbox)
    actions.do_set_label(jeanne, mailbox, known, "urgent", True)
    uid, thread = delivered(mailbox, "Ordonnance")
    tag_elsewhere(mailbox, uid, b"urgent")  # before our sync ever saw it
    synced(mailbox)
    assert Conversation.objects.get(mailbox=mailbox, thread_key=thread).labels == ["urgent"]
