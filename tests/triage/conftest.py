"""Personas of a shared pharmacy mailbox: alice manages the pharmacy, bob triages, dora
sends, erin only reads, charlie has no access."""

from __future__ import annotations

import pytest

from mailboxes.models import Delegation, Mailbox, Structure, User


def person(username: str, first: str, last: str) -> User:
    number = 810000000100 + User.objects.count()  # a SubjectNameID: the session is bound to it
    return User.objects.create_user(
        username, first_name=first, last_name=last, subject_name_id=str(number)
    )


@pytest.fixture
def shared(pharmacy: Structure) -> Mailbox:
    return Mailbox.objects.create(
        address="officine@operateur-a.mssante.test", kind="ORG", structure=pharmacy
    )


@pytest.fixture
def manager(pharmacy: Structure) -> User:
    alice = person("alice", "Alice", "Martin")
    pharmacy.managers.add(alice)
    return alice


def delegate(mailbox: Mailbox, user: User, role: str) -> User:
    Delegation.objects.create(person=user, mailbox=mailbox, role=role)
    return user


@pytest.fixture
def bob(shared: Mailbox) -> User:
    return delegate(shared, person("bob", "Bob", "Lefèvre"), "triage")


@pytest.fixture
def dora(shared: Mailbox) -> User:
    return delegate(shared, person("dora", "Dora", "Petit"), "sender")


@pytest.fixture
def erin(shared: Mailbox) -> User:
    return delegate(shared, person("erin", "Erin", "Roux"), "reader")
