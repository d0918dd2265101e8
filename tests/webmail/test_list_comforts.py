"""Everyday comforts of the lists and the composer (issue 15): Sent and Drafts say whom
messages are for, each row's checkbox names its message, "select all", a move menu with no
folder chosen in advance, a skip link, the composer's heading per mode, the roles
explained."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import RequestFactory
from django.urls import reverse

from mailboxes.models import Folder, Mailbox, MessageIndex, User
from tests.conftest import client_for
from webmail.templatetags.mail import names_only
from webmail.views.compose import compose_title

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(marie_mailbox: Mailbox) -> Folder:
    Folder.objects.create(mailbox=marie_mailbox, name="INBOX", uidvalidity=1)
    folder = Folder.objects.create(
        mailbox=marie_mailbox, name="Sent", special_use="\\Sent", messages=1, uidvalidity=1
    )
    MessageIndex.objects.create(
        folder=folder,
        uid=1,
        subject="Avis cardiologique",
        date=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        sender_name="Marie DURAND",
        sender_address="marie.durand@operateur-a.mssante.test",
        recipients="Dr Karim BENALI <karim.benali@hopital-c.mssante.test>, x@y.test",
        seen=True,
    )
    return folder


def test_sent_lists_whom_messages_are_for_and_rows_are_named(
    marie: User, marie_mailbox: Mailbox, sent: Folder
) -> None:
    page = client_for(marie).get(
        reverse("mail-folder", args=[marie_mailbox.pk]), {"folder": "Sent"}
    )
    html = page.content.decode()
    assert "<th>À</th>" in html and "Dr Karim BENALI, x@y.test" in html
    assert '<span class="position">1–1 sur 1</span>' in html
    assert 'aria-label="Sélectionner : Avis cardiologique"' in html
    assert 'id="select-all" aria-label="Tout sélectionner"' in html
    assert '<option value="" selected>Déplacer vers…</option>' in html
    assert '<a class="skip-link" href="#content">Aller au contenu</a>' in html
    assert 'data-shortcut="e"' in html and "Raccourcis clavier" in html
    assert 'aria-keyshortcuts="e">Archiver</button>' in html  # the verb, not the folder


def test_names_only_keeps_names_else_addresses() -> None:
    assert names_only("Anne Roy <a@x.fr>, b@y.fr") == "Anne Roy, b@y.fr"
    assert names_only("") == ""


def test_the_composer_says_what_is_being_written(marie: User, marie_mailbox: Mailbox) -> None:
    factory = RequestFactory()
    titles = [
        compose_title(factory.get("/", query))
        for query in ({"reply": "3"}, {"reply_all": "3"}, {"forward": "3"}, {"draft": "3"}, {})
    ]
    assert titles == ["Répondre", "Répondre à tous", "Transférer", "Brouillon", "Nouveau message"]
    page = client_for(marie).get(reverse("mail-compose", args=[marie_mailbox.pk]))
    assert "<h1>Nouveau message</h1>" in page.content.decode()


def test_the_delegation_form_explains_the_roles(marie: User, marie_mailbox: Mailbox) -> None:
    page = client_for(marie).get(reverse("admin-delegations", args=[marie_mailbox.pk]))
    assert "consulter la traçabilité" in page.content.decode()
