"""Health documents in the reader, on the real Dovecot (CONFORMANCE.md XDM-R11, XDM-R13,
CDA-R1 to R4, HDR-IN, PAT4, TST 1 and 3)."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse

from documents import samples
from documents.models import StoredSummary
from mailboxes.models import AuditEvent, Mailbox, MessageIndex, User
from tests.conftest import client_for
from tests.documents import hostile_xdm as hostile
from tests.integration.helpers import deliver_to, synced, uid_of
from webmail.demo import messages
from webmail.templatetags.mail import short_datetime

pytestmark = pytest.mark.integration


def xdm_message(*packages: tuple[str, bytes], sender: str = "") -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "XDM/1.0/DDM+CR d'imagerie médicale LEGRAND Camille"
    if sender:
        message["From"] = sender
    message["X-MSS-CODECDA"] = "18748-4"
    message["X-MSS-INS"] = "O"
    message.set_content("Veuillez trouver ci-joint le compte rendu.")
    for name, data in packages:
        message.add_attachment(data, maintype="application", subtype="zip", filename=name)
    return message


def opened(client: Client, mailbox: Mailbox, uid: int) -> str:
    page = client.get(reverse("mail-message", args=[mailbox.pk, uid]), {"folder": "INBOX"})
    assert page.status_code == 200
    return page.content.decode()


def links(html: str, name: str) -> list[str]:
    """The "Voir" links (name "document") or the CDA downloads ("download")."""
    tail = r"document/\d+/" if name == "document" else r"document/\d+/download/"
    found = re.findall(rf'href="([^"]*/{tail}\?[^"]*)"', html)
    return [u.replace("&amp;", "&") for u in found]


def test_it_shows_the_patient_and_documents_above_the_body(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    """TST 1: N1 PDF and N3 with PDF copy in one package; the subject without its prefix."""
    data = hostile.good(samples.level1(), samples.level3(with_pdf=True), samples.level3())
    uid = deliver_to(jeanne_mailbox, xdm_message(("IHE_XDM.ZIP", data)))
    client = client_for(jeanne)
    html = opened(client, jeanne_mailbox, uid)
    assert "<h1>CR d&#x27;imagerie médicale LEGRAND Camille</h1>" in html  # XDM-R12
    block = html[html.index('class="xdm-package"') :]
    assert "<strong>LEGRAND</strong> Camille" in block
    assert samples.CAMILLE.matricule in block and "INS-NIR de test" in block
    assert "12/03/1975" in block and "féminin" in block
    assert "CR d&#x27;imagerie médicale" in block and "18748-4" in block
    assert "Dr Hélène FICTIF" in block and "Centre hospitalier de démonstration" in block
    assert block.count("vérifiée") == 3
    assert "INS (déclarée par l'émetteur)" in html  # HDR-IN
    views = links(html, "document")
    assert len(views) == 3
    first = client.get(views[0]).content.decode()
    frame = re.search(r'<iframe class="body" src="([^"]+)"', first)
    assert frame, first
    pdf = client.get(frame.group(1).replace("&amp;", "&"))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert pdf["X-Content-Type-Options"] == "nosniff"
    second = client.get(views[1]).content.decode()  # CDA-R2: its PDF copy first
    assert "as=pdf" in second and "Vue structurée" in second
    third = client.get(views[2]).content.decode()  # CDA-R3: the narrative, sandboxed
    frame = re.search(r'<iframe class="body" sandbox="allow-popups[^"]*"[^>]* src="([^"]+)"', third)
    assert frame, third
    narrative = client.get(frame.group(1).replace("&amp;", "&"))
    assert "<th>Examen</th>" in narrative.content.decode()
    assert "default-src 'none'" in narrative["Content-Security-Policy"]
    download = client.get(links(html, "download")[0])
    assert download["Content-Type"] == "application/octet-stream"
    assert download.content == samples.level1()
    events = AuditEvent.objects.filter(action__startswith="xdm.").values_list("action", "target")
    assert {a for a, _ in events} == {"xdm.view", "xdm.download"}
    for _, target in events:  # XDM-R13: never the patient
        assert samples.CAMILLE.matricule not in target and "LEGRAND" not in target


def test_it_opens_a_message_of_hostile_packages_with_french_reasons(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    """TST 3: each refused cleanly, the message still usable."""
    cases = [c for c in hostile.CASES if c.build is not hostile.big_entry]
    packages = [(f"IHE_XDM_{n}.ZIP", case.build()) for n, case in enumerate(cases)]
    uid = deliver_to(jeanne_mailbox, xdm_message(*packages))
    html = opened(client_for(jeanne), jeanne_mailbox, uid)
    assert html.count('class="xdm-package"') == len(cases)
    assert "Veuillez trouver ci-joint" in html
    assert "bombe de décompression" in html and "nom dangereux" in html
    assert "lien symbolique" in html and "fichier chiffré" in html


def test_it_marks_a_message_from_a_patient_and_two_patients(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    """PAT4 and XDM-R10 (the red banner)."""
    data = hostile.good(samples.level1(), samples.level1(samples.PAUL))
    sender = f"{samples.CAMILLE.matricule}@patient.mssante.fr"
    uid = deliver_to(jeanne_mailbox, xdm_message(("IHE_XDM.ZIP", data), sender=sender))
    html = opened(client_for(jeanne), jeanne_mailbox, uid)
    assert "Message d'un usager (Mon espace santé)" in html
    assert "plusieurs patients" in html
    synced(jeanne_mailbox)
    listing = client_for(jeanne).get(reverse("mail-folder", args=[jeanne_mailbox.pk]))
    assert '<span class="tag patient"' in listing.content.decode()  # PAT4 in the list


def test_it_shows_an_unreadable_document_and_refuses_a_fake_pdf_inline(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    """CDA-R1 (an N1 "PDF" that is HTML is not served inline) and CDA-R4."""
    fake = samples.level1(payload=b"<html><script>window.__pwned=1</script></html>")
    data = hostile.good(fake, samples.level3())
    data = hostile.replaced(data, "IHE_XDM/SUBSET01/DOC0002.XML", b"<ClinicalDocument")
    uid = deliver_to(jeanne_mailbox, xdm_message(("IHE_XDM.ZIP", data)))
    client = client_for(jeanne)
    html = opened(client, jeanne_mailbox, uid)
    assert "Document illisible" in html
    [view] = links(html, "document")
    page = client.get(view).content.decode()
    assert "Ce document ne peut pas être affiché" in page and "<iframe" not in page
    content = reverse("mail-document-content", args=[jeanne_mailbox.pk, uid, 2, 1])
    for kind in ("pdf", "media", "narrative"):
        assert client.get(content, {"folder": "INBOX", "as": kind}).status_code == 404


def test_it_caches_the_summary_and_finds_documents_by_patient_ins_and_type(
    jeanne: User, jeanne_mailbox: Mailbox, karim: User
) -> None:
    """XDM-R2 (summary cached per part, keyed by message identity) and the document search,
    within the mailboxes the person may read."""
    data = hostile.good(samples.level1())
    uid = deliver_to(jeanne_mailbox, xdm_message(("IHE_XDM.ZIP", data)))
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    listing = reverse("mail-folder", args=[jeanne_mailbox.pk])
    line = "LEGRAND Camille — CR d&#x27;imagerie médicale"
    assert line not in client.get(listing).content.decode()  # not summarised yet
    opened(client, jeanne_mailbox, uid)
    opened(client, jeanne_mailbox, uid)
    assert line in client.get(listing).content.decode()  # the list's line, rows cache renewed
    [stored] = StoredSummary.objects.all()
    assert (stored.folder, stored.uid, stored.part_index) == ("INBOX", uid, 2)
    search = reverse("mail-document-search")
    for words in ("legrand", "Légrand camille", samples.CAMILLE.matricule, "imagerie", "18748-4"):
        page = client.post(search, {"q": words}).content.decode()
        assert "<strong>LEGRAND</strong> Camille" in page, words
    # Which folder and when (the demo walk: the copies in INBOX and Sent looked alike).
    indexed = MessageIndex.objects.get(
        folder__mailbox=jeanne_mailbox, uid=uid, folder__name="INBOX"
    )
    assert "<small>Boîte de réception</small>" in page
    assert short_datetime(indexed.date) in page
    assert "Aucun document trouvé" in client.post(search, {"q": "robert"}).content.decode()
    other = client_for(karim).post(search, {"q": "legrand"}).content.decode()
    assert "Aucun document trouvé" in other
    assert not AuditEvent.objects.filter(target__icontains="legrand").exists()


@pytest.mark.usefixtures("demo_mail")
def test_it_shows_the_demo_lab_report_to_the_gp(marie: User, marie_mailbox: Mailbox) -> None:
    """The issue's "done when": the GP opens a lab report and sees the patient, the type,
    the author and the rendered result."""
    demo = next(m for m in messages.MESSAGES if m.key == "22")
    uid = uid_of(marie_mailbox, demo.message_id)
    client = client_for(marie)
    html = opened(client, marie_mailbox, uid)
    assert "<strong>ROBERT</strong> Paul" in html and "CR d&#x27;examens biologiques" in html
    assert "Dr Hélène FICTIF" in html
    [view] = links(html, "document")
    page = client.get(view).content.decode()
    frame = re.search(r'<iframe class="body" sandbox="[^"]*"[^>]* src="([^"]+)"', page)
    assert frame, page
    result = client.get(frame.group(1).replace("&amp;", "&")).content.decode()
    assert "Hémoglobine" in result and "<strong>13,2</strong>" in result


def test_a_forward_never_shows_the_xdm_prefix(marie: User, marie_mailbox: Mailbox) -> None:
    """XDM-R12: the demo walk found "Objet: XDM/1.0/DDM+…" in an inline forward's quoted
    header and in the name of the message carried as an attachment."""
    demo = next(m for m in messages.MESSAGES if m.key == "22")
    uid = uid_of(marie_mailbox, demo.message_id)
    url = reverse("mail-compose", args=[marie_mailbox.pk])
    client = client_for(marie)
    for how in ("inline", "attachment"):
        query = {
            "folder": "INBOX",
            "forward": uid,
            **({"as": "attachment"} if how == "attachment" else {}),
        }
        page = client.get(url, query).content.decode()
        assert "XDM/1.0/DDM" not in page, how
        assert "CR d&#x27;examens biologiques" in page, how
