"""A secretary reads an organisational mailbox from the real Dovecot, until revoked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mailboxes.actions.delegations import do_grant_delegation, do_revoke_delegation
from mailboxes.models import AuditEvent, Mailbox, User
from mailboxes.operator import OperatorUnavailable
from tests.conftest import client_for
from tests.integration.helpers import synced, uid_of
from webmail.demo import messages

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("demo_mail")]
PHARMACY = "pharmacie.marche@operateur-a.mssante.test"


@pytest.fixture
def sophie(db: None) -> User:
    return User.objects.create_user("sophie", email="sophie@exemple.fr", subject_name_id="0123")


def test_it_lets_a_delegate_read_until_the_manager_revokes(
    directory: dict[str, Mailbox], sophie: User
) -> None:
    pharmacy = directory[PHARMACY]
    jeanne = pharmacy.structure.managers.get()  # type: ignore[union-attr]
    delegation = do_grant_delegation(jeanne, pharmacy, sophie, "reader")
    synced(pharmacy)
    browser = client_for(sophie)
    folder = browser.get(reverse("mail-folder", args=[pharmacy.pk]))
    assert folder.status_code == 200
    assert "Ordonnance — préparation magistrale" in folder.content.decode()
    message = next(m for m in messages.MESSAGES if m.key == "08")
    uid = uid_of(pharmacy, message.message_id)
    page = browser.get(reverse("mail-message", args=[pharmacy.pk, uid]))
    assert "ordonnance_préparation.pdf" in page.content.decode()
    browser.get(reverse("mail-message", args=[pharmacy.pk, uid]))
    logins = AuditEvent.objects.filter(action="operator.login", actor=sophie, mailbox=pharmacy)
    assert [e.outcome for e in logins] == ["ok"]  # once per session, not per page
    do_revoke_delegation(jeanne, delegation)
    assert browser.get(reverse("mail-message", args=[pharmacy.pk, uid])).status_code == 404
    assert browser.get(reverse("mail-folder", args=[pharmacy.pk])).status_code == 404


def test_it_audits_a_failed_login_to_the_operator(
    directory: dict[str, Mailbox], marie: User, settings: object
) -> None:
    settings.OPERATOR_MASTER_PASSWORD = "wrong"  # type: ignore[attr-defined]
    mailbox = directory["marie.durand@operateur-a.mssante.test"]
    with pytest.raises(OperatorUnavailable):
        synced(mailbox)  # the worker's sync is turned away: nothing cached to show
    page = client_for(marie).get(reverse("mail-folder", args=[mailbox.pk]))
    assert page.status_code == 503 and "injoignable" in page.content.decode()
    event = AuditEvent.objects.get(action="mailbox.sync")
    assert event.outcome == "error" and "refused" in event.response
