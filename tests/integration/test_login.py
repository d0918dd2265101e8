"""Logging in through the Pro Santé Connect look-alike, over real HTTP."""

from __future__ import annotations

import pytest

from mailboxes.models import AuditEvent, Mailbox, User
from tests.conftest import MARIE_SNID
from tests.integration.helpers import psc_login, synced

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_logs_a_professional_in_and_shows_the_inbox(
    live_url: str, directory: dict[str, Mailbox], demo_mail: None
) -> None:
    mailbox = directory["marie.durand@operateur-a.mssante.test"]
    synced(mailbox)
    session, page = psc_login(live_url, "marie")
    assert page.status_code == 200
    assert page.url == f"{live_url}/mailbox/{mailbox.pk}/"
    assert "Boîte de réception" in page.text
    assert "Résultats d&#x27;échographie cardiaque — M. Bernard" in page.text
    assert session.cookies.get("sessionid")
    event = AuditEvent.objects.get(action="login.psc")
    assert event.outcome == "ok"
    assert event.actor_subject_name_id == MARIE_SNID


def test_it_keys_a_new_professional_by_subject_name_id_not_sub(
    live_url: str, demo_mail: None
) -> None:
    _, page = psc_login(live_url, "marie")
    assert "Aucune boîte aux lettres" in page.text  # the directory is empty in this test
    user = User.objects.get()
    assert user.subject_name_id == MARIE_SNID
    assert (user.first_name, user.last_name) == ("Marie", "DURAND")
    assert not user.has_usable_password()
    assert "3c8e8f0a" not in user.username  # nothing derived from PSC's opaque sub
    psc_login(live_url, "marie")
    assert User.objects.count() == 1


def test_it_sends_anonymous_visitors_to_the_login_page(live_url: str) -> None:
    import requests

    page = requests.get(f"{live_url}/", timeout=5)
    assert page.url.startswith(f"{live_url}/login/")
    assert "Se connecter avec Pro Santé Connect" in page.text
