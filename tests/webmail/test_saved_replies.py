"""Saved replies per structure: its managers write them, the composer offers them with
their placeholders filled in; nobody else may edit them; audited without their text."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mailboxes.models import AuditEvent, Mailbox, User
from tests.conftest import client_for
from tests.triage.conftest import dora, manager, shared  # noqa: F401  # fixtures
from triage import replies
from triage.models import SavedReply

pytestmark = pytest.mark.django_db
TEXT = "Bonjour {correspondant}, l'ordonnance de {patient} est prête ({date}). {expediteur}"


def test_a_manager_writes_and_deletes_a_saved_reply(
    shared: Mailbox,  # noqa: F811
    manager: User,  # noqa: F811
) -> None:
    url = reverse("triage-replies", args=[shared.pk])
    client = client_for(manager)
    assert client.post(url, {"title": "Ordonnance prête", "text": TEXT}).status_code == 302
    reply = SavedReply.objects.get()
    assert reply.structure == shared.structure
    assert "Ordonnance prête" in client.get(url).content.decode()
    assert client.post(url, {"reply": reply.pk, "delete": "1"}).status_code == 302
    assert not SavedReply.objects.exists()
    targets = list(
        AuditEvent.objects.filter(action="triage.saved_reply").order_by("pk").values_list("target")
    )
    assert targets == [(f"#{reply.pk}",), (f"#{reply.pk} deleted",)]  # never the text


def test_a_delegate_may_not_edit_saved_replies(
    shared: Mailbox,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    url = reverse("triage-replies", args=[shared.pk])
    assert client_for(dora).post(url, {"title": "x", "text": "y"}).status_code == 404
    assert not SavedReply.objects.exists()


def test_it_fills_the_placeholders(dora: User) -> None:  # noqa: F811
    patient = "jean.dupont@patient.mssante.fr"
    filled = replies.fill(TEXT, correspondent="Jean Dupont", address=patient, writer=dora)
    assert filled.startswith("Bonjour Jean Dupont, l'ordonnance de Jean Dupont est prête (")
    assert filled.endswith("). Dora Petit")
    other = replies.fill(TEXT, correspondent="Dr Roux", address="roux@h.test", writer=dora)
    assert "de [patient] est" in other  # not a patient's address: left to fill


def test_the_composer_offers_them_filled_in(
    shared: Mailbox,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    SavedReply.objects.create(structure=shared.structure, title="Prête", text=TEXT)
    page = client_for(dora).get(reverse("mail-compose", args=[shared.pk]))
    html = page.content.decode()
    assert 'id="saved-reply"' in html
    assert "Dora Petit</template>" in html
    assert "saved_replies.js" in html


def test_the_demo_pharmacy_has_saved_replies(directory: dict[str, Mailbox]) -> None:
    pharmacy = directory["pharmacie.marche@operateur-a.mssante.test"]
    filled = replies.for_reply(pharmacy, pharmacy.structure.managers.get(), "Dr X <x@h.test>")  # type: ignore[union-attr]
    assert [f.title for f in filled] == ["Ordonnance prête", "Produit commandé"]
    assert "Bonjour Dr X," in filled[0].text
