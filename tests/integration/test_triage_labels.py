"""Triage labels reach the operator as IMAP keywords (RFC 3501 flag-keyword), so other mail
clients see them; removing one clears it there too. Real Dovecot."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailboxes.models import AuditEvent, Mailbox, MessageIndex, User
from tests.integration.helpers import deliver_to, flags_of, synced
from triage import actions

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
