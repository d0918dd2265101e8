"""New messages with health documents are summarised by a worker after the sync, through the
domain's messages-indexed hook (CONFORMANCE.md XDM-R2): lists and the document search know
them before anyone opens them."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from documents import samples
from documents.models import StoredSummary
from mailboxes import hooks
from mailboxes.models import AuditEvent, Mailbox, User
from tests.conftest import client_for
from tests.documents import hostile_xdm as hostile
from tests.integration.helpers import deliver_to, synced, wait_until
from tests.integration.test_health_documents import xdm_message
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_summarises_new_packages_after_the_sync_without_opening_them(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    uid = deliver_to(jeanne_mailbox, xdm_message(("IHE_XDM.ZIP", hostile.good(samples.level1()))))
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        synced(jeanne_mailbox)
        wait_until(lambda: StoredSummary.objects.filter(uid=uid).exists(), seconds=30)
    page = client_for(jeanne).post(reverse("mail-document-search"), {"q": "legrand"})
    assert "<strong>LEGRAND</strong> Camille" in page.content.decode()
    assert not AuditEvent.objects.filter(action="message.read").exists()  # nobody opened it


def test_a_failing_hook_never_stops_the_sync(jeanne_mailbox: Mailbox) -> None:
    def broken(folder: object, uids: list[int]) -> None:
        raise RuntimeError("bug")

    hooks.register_messages_indexed(broken)
    try:
        deliver_to(jeanne_mailbox, xdm_message(("IHE_XDM.ZIP", hostile.good())))
        synced(jeanne_mailbox)  # raised before the hook was guarded
    finally:
        hooks.messages_indexed.remove(broken)


def test_the_sent_list_says_when_the_patient_cannot_reply(
    jeanne_mailbox: Mailbox, jeanne: User
) -> None:
    """HDR-IN: X-MSS-MES: FIN, read at sync with the other indexed headers, is shown in Sent
    as "réponse de l'usager bloquée"; a message without it is not marked."""
    from mailboxes.operator.imap import imap_session

    closed = (
        f"From: {jeanne_mailbox.address}\r\nTo: ***@patient.mssante.fr\r\n"
        "Subject: Vos resultats\r\nMessage-ID: <fin-1@operateur-a.mssante.test>\r\n"
        "Date: Tue, 1 Dec 2026 09:00:00 +0100\r\nX-MSS-MES: FIN\r\n\r\nBonjour\r\n"
    ).encode()
    with imap_session(jeanne_mailbox) as client:
        if not client.folder_exists("Sent"):
            client.create_folder("Sent")
        client.append("Sent", closed)
        client.append(
            "Sent", closed.replace(b"X-MSS-MES: FIN\r\n", b"").replace(b"fin-1", b"open-1")
        )
    synced(jeanne_mailbox)
    page = client_for(jeanne).get(
        reverse("mail-folder", args=[jeanne_mailbox.pk]), {"folder": "Sent"}
    )
    html = page.content.decode()
    assert (
        html.count("réponse de l&#x27;usager bloquée") + html.count("réponse de l'usager bloquée")
        == 1
    )
