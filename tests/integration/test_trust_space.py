"""Writing outside the MSSanté trust space: refused in French before anything is queued
(block, the default) or sent once confirmed (warn); refusals audited, domain only (TL5, TL6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from pytest_django import Settings

from mailboxes.models import AuditEvent, Mailbox, Outgoing, User
from tests.conftest import client_for
from tests.directory.lists import put_in_force
from tests.integration.helpers import wait_until
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
KARIM = "karim.benali@hopital-c.mssante.test"


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def compose(user: User, mailbox: Mailbox, to: str, **extra: str) -> tuple[int, str]:
    data = {"to": to, "subject": "Compte rendu", "text": "Bonjour", "from_mailbox": mailbox.pk}
    page = client_for(user).post(reverse("mail-compose", args=[mailbox.pk]), {**data, **extra})
    return page.status_code, page.content.decode()


def test_it_refuses_a_gmail_address_in_french_before_queueing(
    directory: dict[str, Mailbox], marie: User, marie_mailbox: Mailbox
) -> None:
    put_in_force("ch-xyz.mssante.fr", "patient.mssante.fr")
    status, page = compose(marie, marie_mailbox, f"{KARIM}, dr.house@gmail.com")
    assert status == 200
    assert "Adresse hors de l’espace de confiance MSSanté : dr.house@gmail.com" in page
    assert "Envoyer quand même" not in page  # block mode: nothing to confirm
    assert not Outgoing.objects.exists()
    refused = AuditEvent.objects.get(action="message.refused")
    assert (refused.target, refused.outcome, refused.actor) == ("gmail.com", "denied", marie)
    assert refused.mailbox == marie_mailbox
    assert not AuditEvent.objects.filter(target__contains="dr.house").exists()


def test_it_refuses_everything_outside_the_operator_when_no_list_is_loaded(
    directory: dict[str, Mailbox], marie: User, marie_mailbox: Mailbox
) -> None:
    status, page = compose(marie, marie_mailbox, "secretariat@ch-xyz.mssante.fr")
    assert status == 200 and "Liste blanche MSSanté indisponible" in page
    assert not Outgoing.objects.exists()


def test_it_sends_outside_once_confirmed_in_warn_mode(
    worker: None,
    directory: dict[str, Mailbox],
    marie: User,
    marie_mailbox: Mailbox,
    settings: Settings,
) -> None:
    settings.TRUSTLIST_MODE = "warn"
    put_in_force("ch-xyz.mssante.fr")
    status, page = compose(marie, marie_mailbox, "dr.house@gmail.com")
    assert status == 200 and "Envoyer quand même" in page and not Outgoing.objects.exists()
    assert not AuditEvent.objects.filter(action="message.refused").exists()  # only a question
    status, _ = compose(marie, marie_mailbox, "dr.house@gmail.com", confirm_outside="1")
    assert status == 302
    outgoing = Outgoing.objects.get()
    # The worker does not refuse it again: the operator does, with its own reason.
    wait_until(lambda: Outgoing.objects.get(pk=outgoing.pk).status == "failed", seconds=60)
    assert "outside the MSSante trust space" in Outgoing.objects.get(pk=outgoing.pk).error


def test_compose_asks_for_the_marks_while_typing(
    directory: dict[str, Mailbox], marie: User, marie_mailbox: Mailbox
) -> None:
    page = client_for(marie).get(reverse("mail-compose", args=[marie_mailbox.pk])).content
    assert reverse("directory-recipient-marks").encode() in page


def test_write_from_the_directory_fills_the_recipient(
    directory: dict[str, Mailbox], marie: User, marie_mailbox: Mailbox
) -> None:
    url = reverse("mail-compose", args=[marie_mailbox.pk])
    page = client_for(marie).get(url, {"to": KARIM}).content.decode()
    assert f'value="{KARIM}"' in page
