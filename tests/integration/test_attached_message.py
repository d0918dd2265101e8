"""A message forwarded as an attachment (message/rfc822), received: listed, downloadable,
openable as a message, and carried by a forward (issue 15, defect 1)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.urls import reverse

from mailboxes.mail import mime
from mailboxes.models import AuditEvent, Mailbox, User
from tests.conftest import client_for
from tests.integration.helpers import lmtp_deliver

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "forwarded_as_attachment.eml"


def deliver_forward(mailbox: Mailbox) -> int:
    message_id = f"<{uuid.uuid4()}@hopital-c.mssante.test>"
    raw = FIXTURE.read_bytes().replace(b"<forwarded@hopital-c.mssante.test>", message_id.encode())
    return lmtp_deliver(mailbox, raw.replace(b"\n", b"\r\n"), message_id)


def test_it_lists_downloads_and_opens_a_forwarded_message(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    uid = deliver_forward(jeanne_mailbox)
    client = client_for(jeanne)
    page = client.get(reverse("mail-message", args=[jeanne_mailbox.pk, uid]))
    html = page.content.decode()
    assert "Résultats de biologie.eml" in html
    index = mime.attachments(mime.message(FIXTURE.read_bytes()))[0].index
    opened_url = reverse("mail-attached-message", args=[jeanne_mailbox.pk, uid, index])
    assert opened_url in html

    download = client.get(reverse("mail-part", args=[jeanne_mailbox.pk, uid, index]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert mime.parse(download.content).message_id == "<inner@operateur-a.mssante.test>"

    opened = client.get(opened_url + "?folder=INBOX")
    text = opened.content.decode()
    assert opened.status_code == 200
    assert "Laboratoire &lt;labo@operateur-a.mssante.test&gt;" in text
    assert "bilan.pdf" in text
    body_url = reverse("mail-body", args=[jeanne_mailbox.pk, uid])
    assert body_url in text  # its HTML body, in the same sandboxed frame
    html_index = mime.attached(mime.message(FIXTURE.read_bytes()), index).html_index  # type: ignore[union-attr]
    frame = client.get(body_url, {"folder": "INBOX", "part": str(html_index)})
    assert frame.status_code == 200 and "<b>normal</b>" in frame.content.decode()
    assert AuditEvent.objects.filter(action="message.read", target__contains=f"part {index}")


def test_it_carries_the_attached_message_into_a_forward(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    uid = deliver_forward(jeanne_mailbox)
    page = client_for(jeanne).get(
        reverse("mail-compose", args=[jeanne_mailbox.pk]), {"forward": uid}
    )
    assert "Résultats de biologie.eml" in page.content.decode()
