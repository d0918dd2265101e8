"""The demo seeds the pharmacy's two secretaries (issue 14): delegated by Jeanne on the
pharmacy's mailbox with the sender role (triage included), each with an invitation link
to set up the password and app, until they have; seeding again is harmless."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from mailboxes import access
from mailboxes.access import Action
from mailboxes.models import AuditEvent, Delegation, Invitation, Mailbox
from webmail.auth import local
from webmail.demo import seed

pytestmark = pytest.mark.django_db


def test_it_seeds_two_secretaries_delegated_by_jeanne_with_an_invitation_each(
    directory: dict[str, Mailbox],
) -> None:
    pharmacy = directory[seed.PHARMACY]
    secretaries = seed.seed_secretaries(directory)
    assert [s.person.email for s in secretaries] == [email for *_, email in seed.SECRETARIES]
    for secretary in secretaries:
        delegation = Delegation.objects.get(person=secretary.person, mailbox=pharmacy)
        assert delegation.role == "sender"
        assert delegation.granted_by is not None
        assert delegation.granted_by.first_name == "Jeanne"
        assert access.can(secretary.person, Action.TRIAGE, pharmacy)
        assert access.can(secretary.person, Action.SEND, pharmacy)
        token = secretary.link.partition("#")[2]
        invitation = local.open_invitation(token)
        assert invitation is not None and invitation.account == secretary.person
    assert AuditEvent.objects.filter(action="delegation.grant", mailbox=pharmacy).count() == 2


def test_seeding_again_keeps_the_delegations_and_says_who_is_set_up(
    directory: dict[str, Mailbox],
) -> None:
    sophie, _ = seed.seed_secretaries(directory)
    sophie.person.last_login = sophie.person.date_joined  # she set up her login meanwhile
    sophie.person.save(update_fields=["last_login"])
    again = seed.seed_secretaries(directory)
    assert again[0].link == ""  # never an invitation over an account in use
    assert again[1].link
    assert Delegation.objects.filter(mailbox=directory[seed.PHARMACY]).count() == 2


def test_seed_demo_prints_the_secretaries_links(
    directory: dict[str, Mailbox], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("seed_demo", "--no-mail")
    out = capsys.readouterr().out
    assert "Sophie LEROY <sophie.leroy@pharmacie-marche.test>  invitation: http" in out
    assert "Lucas MOREAU" in out
    assert Invitation.objects.count() == 2
