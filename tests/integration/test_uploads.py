"""Attachments: refused early, from the request's Content-Length or as soon as the bytes
received pass the cap, so nothing big is read or kept; the cap follows the operator's real
SIZE, so what the form accepts the operator accepts (issue 10, item 8)."""

from __future__ import annotations

import email
from email.policy import default as default_policy
from html import unescape

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from mailboxes.models import Mailbox, Outgoing, User
from mailboxes.operator import imap
from tests.conftest import client_for
from tests.integration.test_sending import KARIM, MARIE, settled, worker
from webmail import uploads

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
__all__ = ["worker"]  # the fixture, used by name
BOUNDARY = "----frontiere"
MiB = 1024 * 1024
TOO_LARGE = "Les pièces jointes sont trop volumineuses pour l'opérateur"


class Body:
    """A request body as a socket gives it, counting what the server read: the form's
    fields, then one file of `size` bytes, produced only when read."""

    def __init__(self, fields: dict[str, str], size: int) -> None:
        head = "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        )
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
            'filename="scanner.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        )
        self.head = head.encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.length = len(self.head) + size + len(self.tail)
        self.read_bytes = 0

    def byte_at(self, position: int) -> bytes:
        if position < len(self.head):
            return self.head[position : position + 1]
        if position >= self.length - len(self.tail):
            return self.tail[position - (self.length - len(self.tail)) :][:1]
        return b"0"

    def read(self, size: int = -1) -> bytes:
        size = self.length - self.read_bytes if size < 0 else size
        size = min(size, self.length - self.read_bytes)
        start = self.read_bytes
        self.read_bytes += size
        if start >= len(self.head) and start + size <= self.length - len(self.tail):
            return b"0" * size
        return b"".join(self.byte_at(p) for p in range(start, start + size))

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def post_streamed(client: Client, mailbox: Mailbox, body: Body, claimed: int | None = None) -> str:
    page = client.post(
        reverse("mail-compose", args=[mailbox.pk]),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **{"wsgi.input": body, "CONTENT_LENGTH": str(claimed or body.length)},  # type: ignore[arg-type]
    )
    assert page.status_code == 200
    return unescape(page.content.decode())


def typed(mailbox: Mailbox) -> dict[str, str]:
    return {
        "from_mailbox": str(mailbox.pk),
        "to": KARIM,
        "subject": "Scanner thoracique",
        "text": "Bonjour, voici le compte rendu.",
        "request_dsn": "on",
    }


def test_it_refuses_a_huge_upload_from_its_content_length_without_reading_it(
    directory: dict[str, Mailbox], marie: User
) -> None:
    mailbox = directory[MARIE]
    body = Body(typed(mailbox), size=2**30)  # 1 GiB
    page = post_streamed(client_for(marie), mailbox, body)
    assert TOO_LARGE in page
    assert "Scanner thoracique" in page and "voici le compte rendu" in page  # kept
    assert body.read_bytes < MiB  # the form's fields and at most a chunk of the file
    assert not Outgoing.objects.exists()


def test_it_stops_reading_an_upload_as_soon_as_it_passes_the_cap(
    directory: dict[str, Mailbox], marie: User, settings: Settings
) -> None:
    settings.WEBMAIL_MAX_UPLOAD_BYTES = 100_000
    mailbox = directory[MARIE]
    body = Body(typed(mailbox), size=3 * MiB)  # within the Content-Length margin for fields
    page = post_streamed(client_for(marie), mailbox, body)
    assert TOO_LARGE in page and "Scanner thoracique" in page
    assert body.read_bytes < 100_000 + 3 * uploads.CappedUploadHandler.chunk_size
    assert not Outgoing.objects.exists()


def test_the_limit_follows_the_operators_size_with_base64_and_headers() -> None:
    size = 26_214_400  # Postfix's message_size_limit in the test operator
    limit = uploads.attachment_limit(size)
    assert uploads.encoded_size(limit) + uploads.HEADROOM <= size
    assert uploads.encoded_size(limit + 4096) + uploads.HEADROOM > size  # not needlessly low


def test_an_attachment_just_under_the_limit_is_sent_and_one_just_over_refused(
    worker: None, directory: dict[str, Mailbox], marie: User
) -> None:
    mailbox = directory[MARIE]
    limit = uploads.upload_limit()
    assert 18 * MiB < limit < 25 * MiB  # from the operator's SIZE, 25 MiB
    client = client_for(marie)
    compose = reverse("mail-compose", args=[mailbox.pk])
    over = SimpleUploadedFile("irm.pdf", b"%PDF" + b"1" * (limit - 3), "application/pdf")
    refused = client.post(compose, {**typed(mailbox), "attachments": over})
    assert refused.status_code == 200
    assert TOO_LARGE in unescape(refused.content.decode())
    assert "Scanner thoracique" in refused.content.decode()
    assert not Outgoing.objects.exists()
    under = SimpleUploadedFile("irm.pdf", b"%PDF" + b"1" * (limit - 4), "application/pdf")
    sent = client.post(compose, {**typed(mailbox), "attachments": under})
    assert sent.status_code == 302, sent.content.decode()[:3000]
    outgoing = settled(Outgoing.objects.get())  # Postfix took it
    with imap.imap_session(directory[KARIM]) as session:
        session.select_folder("INBOX", readonly=True)
        [uid] = session.search(["HEADER", "Message-ID", outgoing.message_id])
        raw = session.fetch([uid], [b"BODY.PEEK[]"])[uid][b"BODY[]"]
    [part] = list(email.message_from_bytes(raw, policy=default_policy).iter_attachments())
    assert len(part.get_content()) == limit
    assert len(raw) > 0.99 * 26_214_400  # the operator's headroom is used, not wasted


def test_a_message_over_the_operators_size_is_refused_in_the_form(
    directory: dict[str, Mailbox], marie: User
) -> None:
    cache.set("operator:smtp:size", 200_000, 60)  # an operator with a small SIZE
    mailbox = directory[MARIE]
    limit = uploads.upload_limit()
    scan = SimpleUploadedFile("irm.pdf", b"1" * limit, "application/pdf")
    text = "Compte rendu détaillé. " * 4000  # the text too counts towards SIZE
    page = client_for(marie).post(
        reverse("mail-compose", args=[mailbox.pk]),
        {**typed(mailbox), "text": text, "attachments": scan},
    )
    cache.delete("operator:smtp:size")
    assert page.status_code == 200
    assert "Le message est trop volumineux pour l'opérateur" in unescape(page.content.decode())
    assert not Outgoing.objects.exists()


def test_files_too_large_for_the_draft_are_said_not_dropped_in_silence(
    directory: dict[str, Mailbox], marie: User, settings: Settings
) -> None:
    """The composer uploads chosen or dropped files into the draft at once: beyond the cap
    they are not read, what was typed is kept, and the answer says why in French."""
    settings.WEBMAIL_MAX_UPLOAD_BYTES = 2 * MiB
    mailbox = directory[MARIE]
    scan = SimpleUploadedFile("irm.pdf", b"1" * (3 * MiB), "application/pdf")
    answer = client_for(marie).post(
        reverse("mail-draft", args=[mailbox.pk]), {**typed(mailbox), "attachments": scan}
    )
    html = unescape(answer.content.decode())
    assert answer.status_code == 200
    assert "Les pièces jointes n’ont pas été ajoutées : l’opérateur accepte 2 Mo au plus" in html
    assert "Brouillon enregistré" in html and "data-stored-files" not in html
    drafts = imap.list_folder(mailbox, "Drafts", 1, 50)
    assert "Scanner thoracique" in [e.subject for e in drafts.envelopes]
