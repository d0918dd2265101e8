"""A CDA sent from compose arrives as a conformant IHE XDM package, through the real worker,
Postfix and Dovecot, and reads back through our own reader (CONFORMANCE.md XDM-S, TST 4)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pytest_django import Settings

from documents import samples
from mailboxes.models import AuditEvent, Mailbox, Outgoing, User
from mailboxes.operator import imap
from tests.conftest import client_for
from tests.integration.helpers import in_folder, uid_of, wait_until
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MARIE = "marie.durand@operateur-a.mssante.test"
KARIM = "karim.benali@hopital-c.mssante.test"


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    settings.WEBMAIL_SEND_RETRY_SECONDS = 1
    settings.DOCUMENTS_ACCEPT_TEST_INS = True
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def html_links(html: str) -> list[str]:
    found = re.findall(r'href="([^"]*/document/\d+/\?[^"]*)"', html)
    return [u.replace("&amp;", "&") for u in found]


def compose(user: User, mailbox: Mailbox, to: str, *files: SimpleUploadedFile) -> str:
    data = {"to": to, "subject": "CR", "text": "Bonjour,\nci-joint le compte rendu.",
            "from_mailbox": str(mailbox.pk), "attachments": list(files)}  # fmt: skip
    page = client_for(user).post(reverse("mail-compose", args=[mailbox.pk]), data)
    return page.content.decode() if page.status_code != 302 else ""


def test_it_sends_a_cda_as_an_xdm_package_that_reads_back(
    worker: None,
    directory: dict[str, Mailbox],
    marie: User,
    karim: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """And TST 9: no INS, patient name or subject in the audit trail, the logs, or the sent
    message's row once sent."""
    caplog.set_level(logging.DEBUG)
    cda_file = SimpleUploadedFile("cr-biologie.xml", samples.level3(with_pdf=True), "text/xml")
    assert compose(marie, directory[MARIE], KARIM, cda_file) == ""
    outgoing = Outgoing.objects.latest("created")
    wait_until(lambda: Outgoing.objects.get(pk=outgoing.pk).status == "sent", seconds=60)
    wait_until(lambda: in_folder(directory[KARIM], outgoing.message_id))
    uid = uid_of(directory[KARIM], outgoing.message_id)
    with imap.imap_session(directory[KARIM]) as client:
        client.select_folder("INBOX", readonly=True)
        raw = client.fetch([uid], [b"BODY.PEEK[]"])[uid][b"BODY[]"]
    assert b"X-MSS-CODECDA: 11502-2" in raw and b"X-MSS-INS: O" in raw
    assert b'filename="IHE_XDM.ZIP"' in raw
    page = client_for(karim).get(
        reverse("mail-message", args=[directory[KARIM].pk, uid]), {"folder": "INBOX"}
    )
    html = page.content.decode()
    assert "<h1>CR d&#x27;examens biologiques LEGRAND Camille 12/03/1975</h1>" in html
    assert "<strong>LEGRAND</strong> Camille" in html and "vérifiée" in html
    assert "plusieurs patients" not in html
    client_for(karim).get(html_links(html)[0])  # Voir: audited xdm.view
    secrets = (samples.CAMILLE.matricule, "LEGRAND", "Camille", "examens biologiques")
    rows = [str(v) for e in AuditEvent.objects.values() for v in e.values()]
    row = Outgoing.objects.values().get(pk=outgoing.pk)
    for secret in secrets:
        assert not any(secret in value for value in rows), secret
        assert secret not in caplog.text, secret
        assert secret not in str(row), secret
    assert AuditEvent.objects.filter(action="xdm.view").exists()


def test_it_refuses_in_compose_a_cda_for_another_patient_than_the_address(
    directory: dict[str, Mailbox], marie: User, settings: Settings
) -> None:
    """XDM-S7: the form says why, nothing is queued."""
    from tests.directory.lists import put_in_force

    put_in_force("patient.mssante.fr")  # Mon espace santé is inside the trust space (TL)
    paul = f"{samples.PAUL.matricule}@patient.mssante.fr"
    cda_file = SimpleUploadedFile("cr.xml", samples.level1(), "text/xml")
    html = compose(marie, directory[MARIE], paul, cda_file)
    assert "ne correspond pas au patient des documents" in html, re.findall(
        r'class="[^"]*error[^"]*"[^>]*>([^<]*)', html
    )
    assert not Outgoing.objects.exists()


def test_it_warns_once_before_sending_a_fin_subject(
    directory: dict[str, Mailbox], marie: User
) -> None:
    """PAT2: "[FIN]" closes every previous exchange: said once, sent on the second try."""
    url = reverse("mail-compose", args=[directory[MARIE].pk])
    data = {
        "to": KARIM,
        "subject": "[FIN]",
        "text": "Fin.",
        "from_mailbox": str(directory[MARIE].pk),
    }
    first = client_for(marie).post(url, data)
    html = first.content.decode()
    assert first.status_code == 200 and "clôt tous les échanges précédents" in html
    assert 'name="fin_confirmed" value="True"' in html
    second = client_for(marie).post(url, {**data, "fin_confirmed": "True"})
    assert second.status_code == 302 and Outgoing.objects.count() == 1


def test_it_refuses_in_compose_an_xml_file_that_is_not_a_cda(
    directory: dict[str, Mailbox], marie: User
) -> None:
    """XDM-S1: the form says why in French; nothing is queued, nothing leaves as an
    ordinary attachment."""
    other = SimpleUploadedFile("facture.xml", b"<Invoice><Total>12</Total></Invoice>", "text/xml")
    html = compose(marie, directory[MARIE], KARIM, other)
    assert "Le fichier XML joint facture.xml ne peut pas être envoyé" in html
    assert "n&#x27;est pas un document CDA R2" in html or "n'est pas un document CDA R2" in html
    assert not Outgoing.objects.exists()


def test_compose_shows_the_subject_the_attached_cda_gives(
    directory: dict[str, Mailbox], marie: User
) -> None:
    """XDM-S6/UX.28: choosing a CDA file saves the draft, whose answer fills the read-only
    subject line beside the form (htmx, out of band)."""
    cda_file = SimpleUploadedFile("cr.xml", samples.level1(), "text/xml")
    data = {"to": KARIM, "subject": "CR", "attachments": [cda_file]}
    page = client_for(marie).post(reverse("mail-draft", args=[directory[MARIE].pk]), data)
    html = page.content.decode()
    assert 'id="cda-subject"' in html and 'hx-swap-oob="true"' in html
    assert (
        "tiré des documents CDA joints (non modifiable) : CR d&#x27;imagerie médicale "
        "LEGRAND Camille 12/03/1975" in html
    )
