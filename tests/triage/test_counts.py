"""The sidebar's counts, read by SQL of our own on every list page (triage/queries.py), are
the ORM's: open conversations only, the person's in mailboxes they may still read, and the
shared mailbox's unassigned ones."""

from __future__ import annotations

import pytest

from mailboxes import access
from mailboxes.models import Mailbox, User
from triage import queries
from triage.models import Conversation

pytestmark = [pytest.mark.django_db, pytest.mark.both_engines]


def orm_counts(person: User, mailbox: Mailbox) -> dict[str, int]:
    return {
        "mine": Conversation.objects.open().assigned_to(person).count(),
        "unassigned": Conversation.objects.filter(mailbox=mailbox).open().unassigned().count(),
    }


def test_the_counts_are_the_orm_s(shared: Mailbox, bob: User, dora: User, alice: User) -> None:
    other = Mailbox.objects.get(owner=alice)  # bob may not read it
    rows = [
        (shared, bob, "new"), (shared, bob, "open"), (shared, bob, "done"),
        (shared, dora, "waiting"), (shared, None, "new"), (shared, None, "done"),
        (other, bob, "open"),
    ]  # fmt: skip
    for n, (mailbox, assignee, status) in enumerate(rows):
        Conversation.objects.create(
            mailbox=mailbox, thread_key=f"t{n}", assignee=assignee, status=status
        )
    for person in (bob, dora, alice):
        readable = [m.pk for m in access.mailboxes_for(person)]
        assert queries.counts(person, shared, readable) == orm_counts(person, shared)
        assert queries.counts(person, shared) == orm_counts(person, shared)
    assert queries.counts(bob, shared, [m.pk for m in access.mailboxes_for(bob)]) == {
        "mine": 2,
        "unassigned": 1,
    }
    assert queries.counts(bob, None, []) == {"mine": 0}
