"""Managers grant, change and revoke delegations; delegates are told; all of it is audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from pytest_django import Settings

from mailboxes import access
from mailboxes.models import (
    AuditEvent,
    Delegation,
    Mailbox,
    Notification,
    Practice,
    Structure,
    User,
)
from tests.conftest import client_for
from webmail.views.delegations import cell


@pytest.fixture
def officine(pharmacy: Structure) -> Mailbox:
    return Mailbox.objects.create(address="officine@a.test", kind="ORG", structure=pharmacy)


@pytest.fixture
def jeanne(pharmacy: Structure) -> User:
    """Manages the pharmacy."""
    user = User.objects.create_user("jeanne", subject_name_id="810209876543")
    pharmacy.managers.add(user)
    return user


@pytest.fixture
def bob(pharmacy: Structure) -> User:
    """Works at the pharmacy: a known person for its manager."""
    user = User.objects.create_user("bob", email="bob@exemple.fr", subject_name_id="810000000002")
    Practice.objects.create(person=user, structure=pharmacy, profession_code="21")
    return user


def grant(manager: User, mailbox: Mailbox, **data: object) -> object:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client_for(manager).post(reverse("admin-delegations", args=[mailbox.pk]), data)


def test_it_lets_a_manager_delegate_to_a_known_person(
    jeanne: User, bob: User, officine: Mailbox
) -> None:
    page = grant(jeanne, officine, person=bob.pk, role="reader")
    assert page.status_code == 302  # type: ignore[attr-defined]
    delegation = Delegation.objects.get()
    assert (delegation.person, delegation.role, delegation.granted_by) == (bob, "reader", jeanne)
    assert client_for(bob).get(reverse("mail-home")).url == reverse(  # type: ignore[attr-defined]
        "mail-folder", args=[officine.pk]
    )
    notice = Notification.objects.get(person=bob)
    assert "officine@a.test" in notice.text
    [message] = mail.outbox
    assert message.to == ["bob@exemple.fr"] and "officine@a.test" in message.body
    event = AuditEvent.objects.get(action="delegation.grant")
    assert event.mailbox == officine and event.target == "bob reader"


def test_the_top_bar_counts_notifications_from_grant_to_reading(
    jeanne: User, bob: User, officine: Mailbox
) -> None:
    client = client_for(bob)
    notifications = reverse("mail-notifications")
    assert 'class="badge"' not in client.get(notifications).content.decode()  # cached: none
    grant(jeanne, officine, person=bob.pk, role="reader")
    page = client.get(reverse("mail-folder", args=[officine.pk])).content.decode()
    assert "1 notification" in page  # the grant forgot the cached count
    client.get(notifications)  # read
    assert "1 notification" not in client.get(notifications).content.decode()


def test_it_invites_a_new_person_by_email_with_the_delegation(
    jeanne: User, officine: Mailbox, settings: Settings
) -> None:
    settings.WEBMAIL_SHOW_INVITATION_LINKS = True
    grant(jeanne, officine, email="Sophie.Martin@exemple.fr", role="triage")
    page = client_for(jeanne).get(reverse("admin-delegations", args=[officine.pk]))
    assert "/invitation/" not in page.content.decode()  # shown once, on the redirect
    sophie = User.objects.get(email="sophie.martin@exemple.fr")
    assert not sophie.has_usable_password()
    assert Delegation.objects.get(person=sophie).role == "triage"
    assert any("/invitation/" in m.body for m in mail.outbox)


def test_it_refuses_a_grant_without_a_person_or_with_a_past_date(
    jeanne: User, bob: User, officine: Mailbox
) -> None:
    assert grant(jeanne, officine, role="reader").status_code == 200  # type: ignore[attr-defined]
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    grant(jeanne, officine, person=bob.pk, role="reader", expires_on=yesterday)
    assert not Delegation.objects.exists()


def test_it_changes_role_and_expiry(jeanne: User, bob: User, officine: Mailbox) -> None:
    grant(jeanne, officine, person=bob.pk, role="reader")
    delegation = Delegation.objects.get()
    day = (timezone.localdate() + timedelta(days=30)).isoformat()
    url = reverse("admin-delegation-change", args=[officine.pk, delegation.pk])
    client_for(jeanne).post(url, {"role": "sender", "expires_on": day})
    delegation.refresh_from_db()
    assert delegation.role == "sender"
    assert timezone.localtime(delegation.expires_at).date().isoformat() == day
    assert AuditEvent.objects.filter(action="delegation.change").exists()


def test_it_revokes_after_confirmation_and_the_next_click_is_refused(
    jeanne: User, bob: User, officine: Mailbox
) -> None:
    grant(jeanne, officine, person=bob.pk, role="reader")
    delegation = Delegation.objects.get()
    delegate = client_for(bob)
    inbox = reverse("mail-folder", args=[officine.pk])
    assert officine in access.mailboxes_for(bob)
    url = reverse("admin-delegation-revoke", args=[officine.pk, delegation.pk])
    manager = client_for(jeanne)
    assert "immédiatement" in manager.get(url).content.decode()
    assert Delegation.objects.get().revoked_at is None  # nothing before the confirmation
    manager.post(url)
    assert delegate.get(inbox).status_code == 404
    refused = AuditEvent.objects.get(action="access.read", outcome="denied")
    assert (refused.actor, refused.mailbox) == (bob, officine)
    assert AuditEvent.objects.filter(action="delegation.revoke", outcome="ok").exists()
    assert Notification.objects.filter(person=bob, text__contains="retiré").exists()


def test_it_stops_an_expired_delegation_at_the_next_request(
    jeanne: User, bob: User, officine: Mailbox
) -> None:
    Delegation.objects.create(person=bob, mailbox=officine, role="reader")
    delegate = client_for(bob)
    Delegation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert delegate.get(reverse("mail-folder", args=[officine.pk])).status_code == 404


def test_it_filters_and_exports_the_audit_trail(jeanne: User, bob: User, officine: Mailbox) -> None:
    grant(jeanne, officine, person=bob.pk, role="reader")
    Delegation.objects.update(revoked_at=timezone.now())
    url = reverse("admin-audit", args=[officine.pk])
    client = client_for(jeanne)
    page = client.get(url, {"action": "delegation.grant"}).content.decode()
    assert "delegation.grant" in page
    assert (
        client.get(url, {"action": "delegation.grant", "since": "2999-01-01"})
        .content.decode()
        .count("bob reader")
        == 0
    )
    export = client.get(url, {"export": "csv", "person": "jeanne"})
    assert export["Content-Type"].startswith("text/csv")
    text = b"".join(export.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:5] == [
        "Date",
        "Personne",
        "Identifiant national",
        "Boîte aux lettres",
        "Code de l'action",
    ]
    assert [r[4] for r in rows[1:]] == ["delegation.grant"]
    assert AuditEvent.objects.filter(action="audit.export", actor=jeanne).exists()


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_it_exports_a_formula_as_text(start: str) -> None:
    assert cell(f"{start}1+1") == f"'{start}1+1"


def test_it_exports_ordinary_values_unchanged() -> None:
    assert [cell("INBOX/3 <a@b>"), cell(None), cell(12)] == ["INBOX/3 <a@b>", "", "12"]


def test_it_lets_no_delegate_change_or_extend_their_own_delegation(
    jeanne: User, bob: User, officine: Mailbox
) -> None:
    ends = timezone.now() + timedelta(days=1)
    own = Delegation.objects.create(
        person=bob, mailbox=officine, role="manager", granted_by=jeanne, expires_at=ends
    )
    later = (timezone.localdate() + timedelta(days=365)).isoformat()
    change = reverse("admin-delegation-change", args=[officine.pk, own.pk])
    with TestCase.captureOnCommitCallbacks(execute=True):
        page = client_for(bob).post(change, {"role": "manager", "expires_on": later}, follow=True)
    assert "Vous ne pouvez pas modifier votre propre délégation." in page.content.decode()
    grant(bob, officine, person=bob.pk, role="manager", expires_on=later)  # a grant does it too
    own.refresh_from_db()
    assert (own.role, own.expires_at, own.revoked_at) == ("manager", ends, None)
    refused = AuditEvent.objects.filter(actor=bob, action="delegation.change", outcome="denied")
    assert refused.count() == 2 and refused.first().target == "bob manager"  # type: ignore[union-attr]
    assert not AuditEvent.objects.filter(actor=bob, outcome="ok").exists()


def test_the_grant_form_offers_neither_the_manager_herself_nor_dashes(
    jeanne: User, bob: User, officine: Mailbox
) -> None:
    """From the walks (issue 15): the manager is not offered to herself; no "---------"."""
    Practice.objects.create(person=jeanne, structure=officine.structure, profession_code="21")  # type: ignore[misc]
    page = client_for(jeanne).get(reverse("admin-delegations", args=[officine.pk]))
    html = page.content.decode()
    assert f'<option value="{bob.pk}">' in html
    assert f'<option value="{jeanne.pk}">' not in html
    assert "---------" not in html and "Choisir une personne" in html
