"""A reply stopped because someone else changed the conversation: "Abandonner" deletes its
autosaved draft from Drafts, and the form shown again keeps the files already chosen.
Real Dovecot (the Drafts folder), PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from mailboxes.actions import drafts
from mailboxes.models import Delegation, Mailbox, Outgoing, User
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, synced
from triage import actions, collisions

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PHARMACY = "pharmacie.marche@operateur-a.mssante.test"
TO = "karim.benali@hopital-c.mssante.test"  # inside the trust space (the operator's domain)
PDF = b"%PDF-1.4\n%fictif\n"


@pytest.fixture
def stopped(directory: dict[str, Mailbox], jeanne: User) -> tuple[Mailbox, User, dict[str, str]]:
    """Sophie started a reply to a conversation that Jeanne took meanwhile."""
    mailbox = directory[PHARMACY]
    sophie = User.objects.create_user(
        "sophie@pharmacie.test", first_name="Sophie", last_name="Leroy",
        subject_name_id="810000000951",
    )  # fmt: skip
    Delegation.objects.create(person=sophie, mailbox=mailbox, role="sender", granted_by=jeanne)
    message = EmailMessage()
    message["Subject"] = "Renouvellement"
    message.set_content("Bonjour")
    deliver_to(mailbox, message)
    synced(mailbox)
    thread = str(message["Message-ID"])
    start = collisions.start(mailbox, thread, timezone.now() - timedelta(seconds=1))
    actions.do_assign(jeanne, mailbox, thread, jeanne)
    form = {
        "from_mailbox": str(mailbox.pk),
        "to": TO,
        "subject": "Re: Renouvellement",
        "text": "C'est prêt.",
        "in_reply_to": thread,
        "request_dsn": "on",
        "triage_start": start,
    }
    return mailbox, sophie, form


def draft_uid_in(html: str) -> str:
    found = re.search(r'name="draft_uid" value="(\d+)"', html)
    assert found, "the page carries the draft"
    return found.group(1)


def test_discarding_a_stopped_reply_deletes_its_draft(
    stopped: tuple[Mailbox, User, dict[str, str]],
) -> None:
    mailbox, sophie, form = stopped
    client = client_for(sophie)
    saved = client.post(reverse("mail-draft", args=[mailbox.pk]), form)  # the autosave
    uid = draft_uid_in(saved.content.decode())
    page = client.post(reverse("mail-compose", args=[mailbox.pk]), {**form, "draft_uid": uid})
    assert 'id="collision"' in page.content.decode()
    assert 'name="discard"' in page.content.decode()
    assert drafts.draft_message(mailbox, int(uid)) is not None
    discarded = client.post(
        reverse("mail-compose", args=[mailbox.pk]), {**form, "draft_uid": uid, "discard": "1"}
    )
    assert discarded.status_code == 302
    assert discarded["Location"] == reverse("mail-folder", args=[mailbox.pk])
    assert drafts.draft_message(mailbox, int(uid)) is None
    assert not Outgoing.objects.exists()


def test_a_stopped_reply_keeps_the_files_already_chosen(
    stopped: tuple[Mailbox, User, dict[str, str]],
) -> None:
    mailbox, sophie, form = stopped
    client = client_for(sophie)
    pdf = SimpleUploadedFile("ordonnance.pdf", PDF, "application/pdf")
    page = client.post(reverse("mail-compose", args=[mailbox.pk]), {**form, "attachments": pdf})
    html = page.content.decode()
    assert 'id="collision"' in html
    assert re.search(r'name="keep_attachment" value="0" checked> ordonnance.pdf', html)
    uid = draft_uid_in(html)  # the files went into a draft
    sent = client.post(
        reverse("mail-compose", args=[mailbox.pk]),
        {**form, "draft_uid": uid, "keep_attachment": "0", "send_anyway": "1"},
    )
    assert sent.status_code == 302
    raw = bytes(Outgoing.objects.get().raw)
    assert b"ordonnance.pdf" in raw
    assert drafts.draft_message(mailbox, int(uid)) is None  # sent: the draft is gone
