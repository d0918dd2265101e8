from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from mailboxes import access
from mailboxes.access import Action, Role
from mailboxes.models import AuditEvent, Mailbox, User


def test_it_makes_the_owner_manager_of_a_personal_mailbox(alice: User) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    assert access.role_of(alice, mailbox) is Role.MANAGER
    assert all(access.can(alice, action, mailbox) for action in Action)


def test_it_denies_everything_to_a_stranger(alice: User, charlie: User) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    assert not any(access.can(charlie, action, mailbox) for action in Action)
    assert not any(access.can(AnonymousUser(), action, mailbox) for action in Action)
    assert list(access.mailboxes_for(charlie)) == []
    assert list(access.mailboxes_for(AnonymousUser())) == []


def test_it_denies_a_deactivated_owner(alice: User) -> None:
    alice.is_active = False
    alice.save()
    mailbox = Mailbox.objects.get(owner=alice)
    assert not access.can(alice, Action.READ, mailbox)
    assert list(access.mailboxes_for(alice)) == []


def test_it_hides_a_foreign_mailbox_exactly_like_a_missing_one(alice: User, charlie: User) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    assert access.mailbox_or_404(alice, Action.READ, mailbox.pk) == mailbox
    with pytest.raises(Http404):
        access.mailbox_or_404(charlie, Action.READ, mailbox.pk)
    with pytest.raises(Http404):
        access.mailbox_or_404(charlie, Action.READ, mailbox.pk + 1000)


@pytest.mark.django_db
def test_it_gives_no_owner_rights_on_an_organisational_mailbox(
    alice: User, pharmacy: object
) -> None:
    org = Mailbox.objects.create(
        address="officine@operateur-a.mssante.test", kind="ORG", structure=pharmacy
    )
    assert access.role_of(alice, org) is None
    assert org not in access.mailboxes_for(alice)


def test_it_audits_one_refusal_a_minute_per_person_mailbox_and_action(
    alice: User, charlie: User
) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    for _ in range(5):  # someone looping on a foreign mailbox: 404 every time
        with pytest.raises(Http404):
            access.mailbox_or_404(charlie, Action.READ, mailbox.pk)
    with pytest.raises(Http404):
        access.mailbox_or_404(charlie, Action.SEND, mailbox.pk)
    denied = AuditEvent.objects.filter(outcome="denied", actor=charlie)
    assert sorted(denied.values_list("action", flat=True)) == ["access.read", "access.send"]
