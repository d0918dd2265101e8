"""Every role x every action x own/foreign mailbox x delegation state: exactly the policy."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest
from django.http import Http404
from django.utils import timezone

from mailboxes import access
from mailboxes.access import Action
from mailboxes.models import Delegation, Mailbox, Structure, User

# Spelled out independently of mailboxes.access, from ARCHITECTURE.md's role ladder.
RANK = {"reader": 1, "triage": 2, "sender": 3, "manager": 4}
NEEDS = {
    Action.READ: "reader",
    Action.SEARCH: "reader",
    Action.TRIAGE: "triage",
    Action.MOVE: "triage",
    Action.SEND: "sender",
    Action.MANAGE: "manager",
}
STATES = ("active", "expired", "revoked", "not yet started")
CASES = list(product(RANK, STATES, ("own", "foreign"), Action))
# The policy is also read as SQL with the mailbox (access.with_roles): both engines.
pytestmark = pytest.mark.both_engines


def delegation_times(state: str) -> dict[str, object]:
    now = timezone.now()
    return {
        "active": {"expires_at": now + timedelta(days=1)},
        "expired": {"expires_at": now - timedelta(seconds=1)},
        "revoked": {"revoked_at": now - timedelta(seconds=1)},
        "not yet started": {"starts_at": now + timedelta(hours=1)},
    }[state]


@pytest.fixture
def two_org_mailboxes(pharmacy: Structure) -> tuple[Mailbox, Mailbox]:
    return (
        Mailbox.objects.create(address="officine@a.test", kind="ORG", structure=pharmacy),
        Mailbox.objects.create(address="preparatoire@a.test", kind="ORG", structure=pharmacy),
    )


@pytest.mark.parametrize(("role", "state", "target", "action"), CASES)
def test_it_allows_exactly_what_the_role_and_state_allow(
    two_org_mailboxes: tuple[Mailbox, Mailbox],
    charlie: User,
    role: str,
    state: str,
    target: str,
    action: Action,
) -> None:
    mailbox, other = two_org_mailboxes
    delegated_on = mailbox if target == "own" else other
    Delegation.objects.create(
        person=charlie, mailbox=delegated_on, role=role, **delegation_times(state)
    )
    expected = state == "active" and target == "own" and RANK[role] >= RANK[NEEDS[action]]
    assert access.can(charlie, action, mailbox) is expected
    try:  # the one look-up of a request: the same answer
        found = access.mailbox_or_404(charlie, action, mailbox.pk)
        assert expected and action in found.allowed
        assert found.allowed == access.allowed(charlie, mailbox)
    except Http404:
        assert not expected
    delegated = access.with_roles(delegated_on.pk, charlie)
    assert delegated is not None
    assert delegated.delegated is (state == "active")  # type: ignore[attr-defined]
    if action is Action.READ:
        assert (mailbox in access.mailboxes_for(charlie)) is expected


def test_it_makes_structure_managers_manage_its_organisational_mailboxes_only(
    two_org_mailboxes: tuple[Mailbox, Mailbox], pharmacy: Structure, alice: User, charlie: User
) -> None:
    mailbox, _ = two_org_mailboxes
    pharmacy.managers.add(charlie)
    elsewhere = Structure.objects.create(name="Autre", siret="11111111100011")
    foreign = Mailbox.objects.create(address="autre@a.test", kind="ORG", structure=elsewhere)
    alices = Mailbox.objects.get(owner=alice)
    assert all(access.can(charlie, action, mailbox) for action in Action)
    assert access.mailbox_or_404(charlie, Action.MANAGE, mailbox.pk).allowed == set(Action)
    assert not any(access.can(charlie, action, foreign) for action in Action)
    with pytest.raises(Http404):
        access.mailbox_or_404(charlie, Action.READ, foreign.pk)
    assert not any(access.can(charlie, action, alices) for action in Action)
    assert set(access.mailboxes_for(charlie)) == set(two_org_mailboxes)


def test_it_lists_personal_mailboxes_first(
    two_org_mailboxes: tuple[Mailbox, Mailbox], alice: User
) -> None:
    Delegation.objects.create(person=alice, mailbox=two_org_mailboxes[0], role="reader")
    listed = list(access.mailboxes_for(alice))
    assert [m.kind for m in listed] == ["PER", "ORG"]


def test_it_lists_exactly_the_mailboxes_can_says_one_manages(
    two_org_mailboxes: tuple[Mailbox, Mailbox], pharmacy: Structure, alice: User, charlie: User
) -> None:
    officine, preparatoire = two_org_mailboxes
    elsewhere = Structure.objects.create(name="Autre", siret="11111111100011")
    foreign = Mailbox.objects.create(address="autre@a.test", kind="ORG", structure=elsewhere)
    pharmacy.managers.add(charlie)
    Delegation.objects.create(
        person=charlie, mailbox=Mailbox.objects.get(owner=alice), role="manager"
    )
    Delegation.objects.create(person=charlie, mailbox=foreign, role="sender")
    Delegation.objects.create(
        person=alice,
        mailbox=preparatoire,
        role="manager",
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    for person in (alice, charlie):
        expected = {m for m in Mailbox.objects.all() if access.can(person, Action.MANAGE, m)}
        assert set(access.managed_mailboxes(person)) == expected
    assert set(access.managed_mailboxes(charlie)) == {
        officine,
        preparatoire,
        Mailbox.objects.get(owner=alice),
    }
