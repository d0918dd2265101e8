"""Line breaks smuggled into a received message's Subject, In-Reply-To or References (CR/LF,
U+2028, U+0085 and the other separators of str.splitlines) never break a reply: the draft
saves, the message leaves through Postfix, with one clean line (issue 10, item 10)."""

from __future__ import annotations

import base64
import os
import re
import smtplib
import uuid
from html import unescape

import pytest
from django.urls import reverse

from mailboxes.actions import outbox
from mailboxes.models import Mailbox, Outgoing, User
from tests.conftest import client_for
from tests.integration.helpers import in_folder, uid_of, wait_until
from tests.integration.test_sending import KARIM, MARIE, fetch, settled, worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
__all__ = ["worker"]  # the fixture, used by name
BREAKS = "\r\n\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
SUBJECT = "Résultats\r\nBcc: intrus@ailleurs.test\u2028ligne\x85deux\u2029trois\x0bquatre"


def encoded(text: str) -> bytes:
    return b"=?utf-8?b?" + base64.b64encode(text.encode()) + b"?="


def deliver_raw(mailbox: Mailbox) -> tuple[int, str]:
    """A message whose headers decode to line breaks, sent through the operator's MX."""
    message_id = f"<{uuid.uuid4()}@hopital-c.mssante.test>"
    raw = b"\r\n".join(
        [
            f"From: Dr Karim BENALI <{KARIM}>".encode(),
            f"To: {mailbox.address}".encode(),
            b"Subject: " + encoded(SUBJECT),
            f"Message-ID: {message_id}".encode(),
            b"In-Reply-To: " + encoded("<avant@hopital-c.mssante.test>\u2028X-Injecte: 1"),
            b"References: <un@hopital-c.mssante.test> "
            + encoded("pas-un-id\r\n<deux@hopital-c.mssante.test>\x85<trois@x.test>"),
            b"MIME-Version: 1.0",
            b"Content-Type: text/plain; charset=utf-8",
            b"",
            b"Bonjour.",
            b"",
        ]
    )
    with smtplib.SMTP("127.0.0.1", int(os.environ["OPERATOR_MX_PORT"]), timeout=10) as smtp:
        smtp.sendmail(KARIM, [mailbox.address], raw)
    wait_until(lambda: in_folder(mailbox, message_id))
    return uid_of(mailbox, message_id), message_id


def form_values(page: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="[a-z]+" name="([a-z_]+)" value="([^"]*)"', page))
    text = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)
    return {k: unescape(v) for k, v in fields.items()} | {
        "text": unescape(text.group(1)) if text else ""
    }


def test_it_replies_to_a_message_with_line_breaks_in_its_headers(
    worker: None, directory: dict[str, Mailbox], marie: User
) -> None:
    mailbox = directory[MARIE]
    uid, original_id = deliver_raw(mailbox)
    client = client_for(marie)
    compose = reverse("mail-compose", args=[mailbox.pk])
    page = client.get(compose, {"folder": "INBOX", "reply": uid})
    assert page.status_code == 200
    values = form_values(page.content.decode())
    assert values["in_reply_to"] and "Résultats" in values["subject"]
    saved = client.post(reverse("mail-draft", args=[mailbox.pk]), values)  # the autosave
    assert saved.status_code == 200 and "Brouillon enregistré" in saved.content.decode()
    draft_uid = re.search(r'name="draft_uid" value="(\d+)"', saved.content.decode())
    assert draft_uid
    sent = client.post(
        compose,
        {
            **values,
            "to": KARIM,
            "from_mailbox": str(mailbox.pk),
            "request_dsn": "on",
            "draft_uid": draft_uid.group(1),
        },
    )
    assert sent.status_code == 302, sent.content.decode()[:2000]
    outgoing = settled(Outgoing.objects.latest("created"))
    received = fetch(directory[KARIM], outgoing.message_id)
    subject = str(received["Subject"])
    assert not any(c in subject for c in BREAKS)
    assert subject == "Re: Résultats Bcc: intrus@ailleurs.test ligne deux trois quatre"
    assert received["Bcc"] is None and received["X-Injecte"] is None
    assert str(received["In-Reply-To"]) == original_id
    assert str(received["References"]).split() == [
        "<un@hopital-c.mssante.test>",
        "<deux@hopital-c.mssante.test>",
        "<trois@x.test>",
        original_id,
    ]


@pytest.mark.parametrize("separator", list(BREAKS))
def test_it_builds_one_line_headers_whatever_the_separator(
    marie: User, directory: dict[str, Mailbox], separator: str
) -> None:
    draft = outbox.Draft(
        to=[KARIM],
        subject=f"Avant{separator}Après",
        in_reply_to=f"<a@b.test>{separator}X-Autre: 1",
        references=f"<r@b.test>{separator}<s@b.test> n'importe quoi <t@b.test",
        attachments=[(f"compte{separator}rendu.pdf", "application/pdf", b"%PDF")],
    )
    message = outbox.build(marie, directory[MARIE], draft)
    raw = message.as_bytes()  # raised ValueError before
    assert b"X-Autre" not in raw
    assert message["Subject"] == "Avant Après"
    assert message["In-Reply-To"] == "<a@b.test>"
    assert message["References"] == "<r@b.test> <s@b.test> <a@b.test>"
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "compte rendu.pdf"
