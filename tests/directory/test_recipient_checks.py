"""The trust space checked on recipients: marks while typing, the worker's re-check (TL6)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from mailboxes import recipients
from mailboxes.actions import sending
from mailboxes.models import AuditEvent, Mailbox, Outgoing, User
from tests.conftest import client_for
from tests.directory.lists import put_in_force

pytestmark = pytest.mark.django_db
KARIM = "karim.benali@hopital-c.mssante.test"


@pytest.fixture(autouse=True)
def operator_domains(settings: Settings) -> None:
    settings.TRUSTLIST_OPERATOR_DOMAINS = ["operateur-a.mssante.test", "hopital-c.mssante.test"]


def test_it_marks_each_recipient_as_typed(marie: User) -> None:
    put_in_force("ch-xyz.mssante.fr")
    data = {"to": f"Karim <{KARIM}>, dr.house@gmail.com", "cc": "secretariat@ch-xyz.mssante.fr"}
    page = client_for(marie).post(reverse("directory-recipient-marks"), data).content.decode()
    assert page.count("✓") == 2 and page.count("⚠") == 1
    assert "dr.house@gmail.com <small>hors de l’espace de confiance MSSanté" in page


def test_marks_are_for_logged_in_people_only_and_by_post(marie: User) -> None:
    url = reverse("directory-recipient-marks")
    assert client_for(marie).get(url, {"to": KARIM}).status_code == 405
    assert Client().post(url, {"to": KARIM}).status_code == 302  # to the login page


def queued_to(author: User, mailbox: Mailbox, *recipients: str) -> Outgoing:
    return Outgoing.objects.create(
        mailbox=mailbox,
        author=author,
        message_id="<x@operateur-a.mssante.test>",
        envelope_from=mailbox.address,
        recipients=list(recipients),
        raw=b"Subject: x\r\n\r\nx\r\n",
    )


def test_the_worker_checks_again_before_submitting(marie: User, marie_mailbox: Mailbox) -> None:
    """TL6: the list may change between queueing and sending; nothing reaches the operator."""
    put_in_force("ch-xyz.mssante.fr")
    outgoing = queued_to(marie, marie_mailbox, KARIM, "dr@ch-xyz.mssante.fr")
    put_in_force("ch-abc.mssante.fr")  # ch-xyz left the trust space
    assert sending.do_send(outgoing.pk).outcome == "failed"
    outgoing.refresh_from_db()
    assert outgoing.status == Outgoing.Status.FAILED
    assert "Adresse hors de l’espace de confiance MSSanté : dr@ch-xyz.mssante.fr" in outgoing.error
    assert outgoing.attempts == 1 and bytes(outgoing.raw)  # kept, for a retry or a discard
    refused = AuditEvent.objects.get(action="message.refused")
    assert (refused.target, refused.outcome) == ("ch-xyz.mssante.fr", "denied")
    assert "dr@" not in refused.target + refused.response  # the domain only


def test_the_worker_lets_confirmed_recipients_go_in_warn_mode(
    marie: User, marie_mailbox: Mailbox, settings: Settings
) -> None:
    """Warn mode: the person confirmed; the operator decides (its refusal is shown)."""
    settings.TRUSTLIST_MODE = "warn"
    put_in_force("ch-xyz.mssante.fr")
    outgoing = queued_to(marie, marie_mailbox, "dr.house@gmail.com")
    assert [o.blocking for o in recipients.outside(outgoing.recipients)] == [False]


def test_the_worker_blocks_when_no_list_was_ever_loaded_even_in_warn_mode(
    marie: User, marie_mailbox: Mailbox, settings: Settings
) -> None:
    settings.TRUSTLIST_MODE = "warn"
    outgoing = queued_to(marie, marie_mailbox, "dr@ch-xyz.mssante.fr")
    assert sending.do_send(outgoing.pk).outcome == "failed"
    assert "liste blanche" in Outgoing.objects.get(pk=outgoing.pk).error.lower()
