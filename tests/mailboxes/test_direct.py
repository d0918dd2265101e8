"""Rows read by our own SQL (mailboxes/models/direct.py) are the instances the ORM would have
made: every field, converted the same way, on PostgreSQL and on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from mailboxes import access
from mailboxes.actions import reading
from mailboxes.models import (
    AuditEvent,
    Delegation,
    Folder,
    Mailbox,
    MessageIndex,
    Structure,
    User,
    direct,
)
from mailboxes.models.direct import shape

pytestmark = [pytest.mark.django_db, pytest.mark.both_engines]


def fields_of(instance: Model) -> dict[str, object]:
    deferred = instance.get_deferred_fields()
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.attname not in deferred
    }


def test_a_row_read_directly_is_the_orm_s_own(alice: User) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    folder = Folder.objects.create(mailbox=mailbox, name="INBOX", uidvalidity=7, messages=1)
    row = MessageIndex.objects.create(
        folder=folder, uid=3, date=datetime(2026, 11, 30, 8, 15, tzinfo=UTC), seen=True,
        keywords=["$MDNSent", "Important"], subject="Compte rendu", size=1234,
        has_xdm=True, thread_key="t-1",
    )  # fmt: skip
    wanted = MessageIndex.objects.get(pk=row.pk)
    boxes = shape(MessageIndex)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {boxes.columns('mi', connection)} FROM {MessageIndex._meta.db_table} mi"  # noqa: S608
            " WHERE mi.id = %s",
            [row.pk],
        )
        found = boxes.build(cursor.fetchone(), connection)
    assert fields_of(found) == fields_of(wanted)
    assert found.date == datetime(2026, 11, 30, 8, 15, tzinfo=UTC) and found.seen is True
    assert found.keywords == ["$MDNSent", "Important"]
    assert not found._state.adding and found._state.db == "default"


def test_the_mailbox_with_roles_and_the_reader_s_row_match_the_orm(
    alice: User, charlie: User, pharmacy: Structure
) -> None:
    shared = Mailbox.objects.create(
        address="accueil@pharmacie.mssante.test", kind="ORG", label="Accueil",
        structure=pharmacy, signature="Pharmacie test",
    )  # fmt: skip
    Delegation.objects.create(
        person=charlie, mailbox=shared, role="triage",
        starts_at=datetime.now(UTC) - timedelta(days=1),
    )  # fmt: skip
    found = access.with_roles(shared.pk, charlie)
    assert found is not None
    assert fields_of(found) == fields_of(Mailbox.objects.get(pk=shared.pk))
    assert fields_of(found.structure) == fields_of(pharmacy)  # type: ignore[arg-type]
    assert (found.role_here, found.manages_here, found.delegated) == ("triage", False, True)  # type: ignore[attr-defined]
    own = access.with_roles(Mailbox.objects.get(owner=alice).pk, alice)
    assert own is not None and own.structure is None
    assert (own.role_here, own.manages_here, own.delegated) == (None, False, False)  # type: ignore[attr-defined]
    assert access.with_roles(10**9, alice) is None

    folder = Folder.objects.create(mailbox=shared, name="INBOX", uidvalidity=9)
    MessageIndex.objects.create(
        folder=folder, uid=5, date=datetime(2026, 11, 30, 9, 0, tzinfo=UTC), keywords=["$Label1"]
    )
    row = reading.row_of(shared, "INBOX", 5)
    assert row is not None
    wanted = (
        MessageIndex.objects.select_related("folder")
        .only(*reading.READER_FIELDS)
        .get(folder=folder, uid=5)
    )
    assert fields_of(row) == fields_of(wanted)
    assert fields_of(row.folder) == fields_of(wanted.folder)
    assert reading.row_of(shared, "INBOX", 6) is None
    assert reading.row_of(shared, "Sent", 5) is None


def test_an_event_inserted_directly_is_the_one_create_would_have_saved(alice: User) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    event = AuditEvent(
        actor=alice, actor_label="Alice", mailbox=mailbox, mailbox_address=mailbox.address,
        action="message.read", target="INBOX/3 <m@x>", client_ip="192.0.2.7",
    )  # fmt: skip
    direct.insert(event)
    assert event.pk is not None and not event._state.adding
    saved = AuditEvent.objects.get(pk=event.pk)
    assert fields_of(saved) == fields_of(event)
    assert saved.created is not None and abs(saved.created - timezone.now()) < timedelta(minutes=1)
    other = AuditEvent(action="login", outcome=AuditEvent.Outcome.DENIED)
    direct.insert(other)
    assert other.pk != event.pk and AuditEvent.objects.get(pk=other.pk).actor_id is None


def test_a_row_by_its_key_is_the_orm_s_own(alice: User) -> None:
    found = direct.by_pk(User, alice.pk)
    assert found is not None and fields_of(found) == fields_of(User.objects.get(pk=alice.pk))
    assert direct.by_pk(User, 10**9) is None


def test_the_switcher_s_list_is_mailboxes_for_with_unseen(
    alice: User, charlie: User, pharmacy: Structure
) -> None:
    """cache.readable_with_unseen: the same mailboxes, in the same order (own first, then
    by label), with the same unread counts and fields, as the ORM's version."""
    from mailboxes.mailcache import cache

    pharmacy.managers.add(alice)
    for n, label in enumerate(("Zèbre", "Accueil", "")):
        shared = Mailbox.objects.create(
            address=f"boite{n}@pharmacie.mssante.test", kind="ORG", label=label,
            structure=pharmacy,
        )  # fmt: skip
        Folder.objects.create(mailbox=shared, name="INBOX", unseen=n * 3)
        Folder.objects.create(mailbox=shared, name="Sent", unseen=99)
        if n:
            Delegation.objects.create(person=charlie, mailbox=shared, role="reader")
    Folder.objects.create(mailbox=Mailbox.objects.get(owner=alice), name="INBOX", unseen=4)
    for person in (alice, charlie):
        wanted = list(cache.with_unseen(access.mailboxes_for(person)))
        found = cache.readable_with_unseen(person)
        assert [m.pk for m in found] == [m.pk for m in wanted] and found
        assert [m.unseen for m in found] == [m.unseen for m in wanted]  # type: ignore[attr-defined]
        assert [fields_of(m) for m in found] == [fields_of(m) for m in wanted]
        assert [m.structure_id for m in found] == [m.structure_id for m in wanted]
    assert len(cache.readable_with_unseen(alice)) == 4
    # By label: the one without a label first, as the ORM orders them.
    assert [m.unseen for m in cache.readable_with_unseen(charlie)] == [6, 3]  # type: ignore[attr-defined]


def test_folders_and_state_in_one_query_are_those_of_two(alice: User, charlie: User) -> None:
    """cache.folders_and_state: the folders in the list's order and the sync state, as
    cache.folders and cache.state_of give them; with no folder yet, and with no state."""
    from mailboxes.mailcache import cache
    from mailboxes.models import SyncState

    mailbox = Mailbox.objects.get(owner=alice)
    other = Mailbox.objects.create(address="c@operateur-a.mssante.test", kind="PER", owner=charlie)
    assert cache.folders_and_state(mailbox) == ([], None)
    SyncState.objects.create(mailbox=mailbox, done=3, total=9, error="refused")
    folders, state = cache.folders_and_state(mailbox)
    assert folders == [] and state is not None
    assert fields_of(state) == fields_of(SyncState.objects.get(mailbox=mailbox))
    for name, use in (("Zeta", ""), ("Sent", "\\Sent"), ("INBOX", ""), ("alpha", "")):
        Folder.objects.create(mailbox=mailbox, name=name, special_use=use, unseen=len(name))
    Folder.objects.create(mailbox=other, name="INBOX")
    folders, state = cache.folders_and_state(mailbox)
    assert [fields_of(f) for f in folders] == [fields_of(f) for f in cache.folders(mailbox)]
    assert [f.name for f in folders] == ["INBOX", "Sent", "alpha", "Zeta"]
    assert state is not None and fields_of(state) == fields_of(cache.state_of(mailbox))  # type: ignore[arg-type]
    other_folders, other_state = cache.folders_and_state(other)
    assert [f.name for f in other_folders] == ["INBOX"] and other_state is None


def test_a_row_built_without_init_leaves_the_fields_not_read_deferred(alice: User) -> None:
    """Built as from_db leaves it (models.direct, without Model.__init__): the fields not read
    are deferred and load when asked; saving it saves what it holds; a model someone listens
    to (post_init) is still built by from_db."""
    from django.db.models import signals

    mailbox = Mailbox.objects.get(owner=alice)
    folder = Folder.objects.create(mailbox=mailbox, name="INBOX", uidvalidity=7)
    row = MessageIndex.objects.create(
        folder=folder, uid=3, date=timezone.now(), subject="Compte rendu", keywords=["a"]
    )
    [found] = direct.rows(MessageIndex, "t.id = %s", [row.pk], names=("uid", "subject"))
    assert found.get_deferred_fields() >= {"keywords", "date", "seen"}
    assert (found.pk, found.uid, found.subject) == (row.pk, 3, "Compte rendu")
    assert found.keywords == ["a"] and found.folder == folder  # loaded when asked
    found.subject = "Autre"
    found.save(update_fields=["subject"])
    assert MessageIndex.objects.get(pk=row.pk).subject == "Autre"
    made: list[object] = []

    def listening(sender: type, instance: object, **kwargs: object) -> None:
        made.append(instance)

    signals.post_init.connect(listening, sender=MessageIndex)
    try:
        [again] = direct.rows(MessageIndex, "t.id = %s", [row.pk], names=("uid",))
    finally:
        signals.post_init.disconnect(listening, sender=MessageIndex)
    assert made == [again] and again.uid == 3
