"""The triage rules: assignment, status transitions, reopening by an incoming reply, notes
and mentions, unassignment when a delegation ends, and the audit trail without content
(CONF.17-18)."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from django.utils import timezone

from mailboxes import signals
from mailboxes.actions import delegations, outbox
from mailboxes.errors import BadRequest
from mailboxes.models import (
    AuditEvent,
    Delegation,
    Folder,
    Mailbox,
    MessageIndex,
    Notification,
    User,
)
from triage import actions, hooks, people, queries
from triage.models import Conversation, Event

THREAD = "<first@example.test>"
Status = Conversation.Status


def incoming(folder: Folder, uid: int, when: datetime, sender: str = "a@b.test") -> MessageIndex:
    return MessageIndex.objects.create(
        folder=folder, uid=uid, message_id=f"<m{uid}@b.test>", thread_key=THREAD, date=when,
        sender_address=sender,
    )  # fmt: skip


@pytest.fixture
def inbox(shared: Mailbox) -> Folder:
    return Folder.objects.create(mailbox=shared, name="INBOX")


def test_it_assigns_a_triage_delegate_and_puts_a_new_conversation_in_progress(
    shared: Mailbox, manager: User, bob: User
) -> None:
    conversation = actions.do_assign(manager, shared, THREAD, bob)
    assert conversation.assignee == bob
    assert conversation.status == Status.OPEN
    assert conversation.version == 1
    assert [e.kind for e in conversation.events.all()] == ["assigned", "status"]
    assert Notification.objects.filter(person=bob).count() == 1
    event = AuditEvent.objects.get(action="triage.assign")
    assert event.target == f"{THREAD} bob"
    assert event.actor == manager


def test_it_refuses_an_assignee_without_the_triage_role(
    shared: Mailbox, manager: User, erin: User, charlie: User
) -> None:
    for nobody in (erin, charlie):
        with pytest.raises(BadRequest):
            actions.do_assign(manager, shared, THREAD, nobody)
    assert not Conversation.objects.filter(assignee__isnull=False).exists()


def test_it_tells_nobody_when_someone_assigns_themselves(shared: Mailbox, bob: User) -> None:
    actions.do_assign(bob, shared, THREAD, bob)
    actions.do_assign(bob, shared, THREAD, bob)  # the same again: nothing happens
    assert not Notification.objects.filter(person=bob).exists()
    assert Event.objects.filter(kind=Event.Kind.ASSIGNED).count() == 1


def test_it_unassigns_back_to_nobody(shared: Mailbox, bob: User, dora: User) -> None:
    actions.do_assign(bob, shared, THREAD, dora)
    conversation = actions.do_assign(bob, shared, THREAD, None)
    assert conversation.assignee is None
    assert conversation in Conversation.objects.unassigned()
    kinds = list(conversation.events.values_list("kind", flat=True))
    assert kinds == ["assigned", "status", "unassigned"]


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        (Status.NEW, Status.OPEN, True),
        (Status.NEW, Status.WAITING, True),
        (Status.NEW, Status.DONE, True),
        (Status.OPEN, Status.WAITING, True),
        (Status.OPEN, Status.DONE, True),
        (Status.WAITING, Status.OPEN, True),
        (Status.WAITING, Status.DONE, True),
        (Status.DONE, Status.OPEN, True),
        (Status.OPEN, Status.NEW, False),
        (Status.DONE, Status.NEW, False),
        (Status.DONE, Status.WAITING, False),
        (Status.OPEN, "archived", False),
    ],
)
def test_it_moves_a_status_only_along_the_transitions(
    shared: Mailbox, bob: User, start: str, to: str, allowed: bool
) -> None:
    Conversation.objects.create(mailbox=shared, thread_key=THREAD, status=start)
    if allowed:
        assert actions.do_set_status(bob, shared, THREAD, to).status == to
        assert AuditEvent.objects.get(action="triage.status").target == f"{THREAD} {to}"
    else:
        with pytest.raises(BadRequest):
            actions.do_set_status(bob, shared, THREAD, to)
        assert Conversation.objects.get().status == start


def test_it_changes_nothing_for_the_same_status(shared: Mailbox, bob: User) -> None:
    actions.do_set_status(bob, shared, THREAD, Status.DONE)
    conversation = actions.do_set_status(bob, shared, THREAD, Status.DONE)
    assert conversation.version == 1
    assert Event.objects.count() == 1


@pytest.mark.parametrize("handled", [Status.DONE, Status.WAITING])
def test_it_reopens_a_handled_conversation_when_a_reply_comes_in(
    shared: Mailbox, inbox: Folder, bob: User, handled: str
) -> None:
    actions.do_set_status(bob, shared, THREAD, handled)
    later = timezone.now() + timedelta(seconds=5)
    signals.messages_indexed.send(
        Mailbox, mailbox=shared, folder=inbox, messages=[incoming(inbox, 7, later)]
    )  # through the hook the sync sends, as TriageConfig.ready connected it
    conversation = Conversation.objects.get()
    assert conversation.status == Status.OPEN
    assert conversation.last_message_at == later
    assert conversation.events.last().kind == Event.Kind.REOPENED  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(action="triage.reopen", actor=None).count() == 1


def test_it_keeps_a_conversation_done_for_older_or_own_or_sent_mail(
    shared: Mailbox, inbox: Folder, bob: User
) -> None:
    actions.do_set_status(bob, shared, THREAD, Status.DONE)
    older = timezone.now() - timedelta(days=3)  # a rebuilt folder re-indexes old mail
    later = timezone.now() + timedelta(seconds=5)
    sent = Folder.objects.create(mailbox=shared, name="Sent", special_use="\\Sent")
    hooks.on_messages_indexed(shared, inbox, [incoming(inbox, 1, older)])
    hooks.on_messages_indexed(shared, inbox, [incoming(inbox, 2, later, shared.address)])
    hooks.on_messages_indexed(shared, sent, [incoming(sent, 3, later)])
    assert Conversation.objects.get().status == Status.DONE


def test_it_makes_a_new_conversation_for_new_incoming_mail(shared: Mailbox, inbox: Folder) -> None:
    when = timezone.now()
    hooks.on_messages_indexed(shared, inbox, [incoming(inbox, 1, when)])
    conversation = Conversation.objects.get()
    assert (conversation.status, conversation.assignee, conversation.last_message_at) == (
        Status.NEW,
        None,
        when,
    )
    assert not Event.objects.exists()  # arrivals are not history; a reopening is


def test_it_keeps_notes_out_of_the_audit_and_tells_the_mentioned(
    shared: Mailbox, manager: User, bob: User, erin: User, charlie: User
) -> None:
    text = "Patient Dupont rappelle demain, voir @bob.lefevre et @erin.roux (pas @charlie)"
    note = actions.do_add_note(manager, shared, THREAD, text)
    assert set(note.mentions.all()) == {bob, erin}  # charlie may not read the mailbox
    assert Notification.objects.filter(person__in=[bob, erin]).count() == 2
    assert not Notification.objects.filter(person=charlie).exists()
    assert "Dupont" not in Notification.objects.first().text  # type: ignore[union-attr]
    event = AuditEvent.objects.get(action="triage.note")
    assert event.target == f"{THREAD} mentions=2"
    assert not AuditEvent.objects.filter(target__contains="Dupont").exists()
    assert Event.objects.get().note == note


def test_it_refuses_an_empty_note(shared: Mailbox, bob: User) -> None:
    with pytest.raises(BadRequest):
        actions.do_add_note(bob, shared, THREAD, "   ")


@pytest.mark.parametrize("role", ["reader", None])
def test_it_unassigns_when_the_delegation_is_revoked_or_lowered(
    shared: Mailbox, manager: User, bob: User, role: str | None
) -> None:
    actions.do_assign(manager, shared, THREAD, bob)
    actions.do_assign(manager, shared, "<other@example.test>", bob)
    delegation = Delegation.objects.get(person=bob)
    if role is None:
        delegations.do_revoke_delegation(manager, delegation)
    else:
        delegations.do_change_delegation(manager, delegation, role, None)
    assert not Conversation.objects.filter(assignee=bob).exists()
    assert Event.objects.filter(kind=Event.Kind.ACCESS_ENDED, value="Bob Lefèvre").count() == 2
    assert AuditEvent.objects.get(action="triage.unassign").target == "bob conversations=2"


def test_it_keeps_the_assignment_when_a_delegation_still_allows_triage(
    shared: Mailbox, manager: User, bob: User
) -> None:
    actions.do_assign(manager, shared, THREAD, bob)
    delegation = Delegation.objects.get(person=bob)
    delegations.do_change_delegation(manager, delegation, "sender", None)
    assert Conversation.objects.get().assignee == bob


def test_it_hides_assignments_in_a_mailbox_whose_delegation_expired(
    shared: Mailbox, manager: User, bob: User
) -> None:
    actions.do_assign(manager, shared, THREAD, bob)
    assert Conversation.objects.assigned_to(bob).count() == 1
    Delegation.objects.filter(person=bob).update(expires_at=timezone.now() - timedelta(1))
    assert Conversation.objects.assigned_to(bob).count() == 0


def test_it_records_who_sent_a_reply_and_moves_the_version(
    shared: Mailbox, inbox: Folder, dora: User
) -> None:
    incoming(inbox, 1, timezone.now())
    reply = EmailMessage()
    reply["Message-ID"] = "<reply@officine.test>"
    reply["In-Reply-To"] = "<m1@b.test>"
    reply.set_content("Bonjour")
    outbox.do_queue_raw(dora, shared, reply, ["a@b.test"], request_dsn=False)
    conversation = Conversation.objects.get(thread_key=THREAD)
    assert conversation.version == 1
    assert conversation.status == Status.OPEN
    replied = conversation.events.get()
    assert (replied.kind, replied.actor) == (Event.Kind.REPLIED, dora)


def test_it_finds_the_people_who_may_triage(
    shared: Mailbox, manager: User, bob: User, dora: User, erin: User, charlie: User
) -> None:
    assert people.people_of(shared, actions.Action.TRIAGE) == [bob, manager, dora]
    assert erin in people.people_of(shared)
    assert people.handle(bob) == "bob.lefevre"


@pytest.mark.parametrize("label", ["", "$Junk", "a b", "\\Seen", "x" * 41, "é"])
def test_it_refuses_a_label_that_is_no_imap_keyword(shared: Mailbox, bob: User, label: str) -> None:
    with pytest.raises(BadRequest):
        actions.do_set_label(bob, shared, THREAD, label, True)


def test_it_keeps_labels_in_the_history_and_the_audit(shared: Mailbox, bob: User) -> None:
    actions.do_set_label(bob, shared, THREAD, "urgent", True)  # no cached message: no IMAP
    actions.do_set_label(bob, shared, THREAD, "urgent", True)
    conversation = actions.do_set_label(bob, shared, THREAD, "urgent", False)
    assert conversation.labels == []
    assert list(Event.objects.values_list("kind", "value")) == [
        ("labelled", "urgent"),
        ("unlabelled", "urgent"),
    ]
    assert AuditEvent.objects.filter(action="triage.label").count() == 2


def test_it_tells_by_email_only_when_asked_and_without_health_data(
    shared: Mailbox,
    manager: User,
    bob: User,
    settings: object,
    mailoutbox: list[object],
    django_capture_on_commit_callbacks: object,
) -> None:
    bob.email = "bob@pharmacie.test"
    bob.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        actions.do_add_note(manager, shared, THREAD, "Dupont : @bob.lefevre")
    assert mailoutbox == []
    settings.WEBMAIL_TRIAGE_EMAIL = True  # type: ignore[attr-defined]
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        actions.do_assign(manager, shared, THREAD, bob)
    [sent] = mailoutbox
    assert sent.to == ["bob@pharmacie.test"]  # type: ignore[attr-defined]
    assert shared.address in sent.body  # type: ignore[attr-defined]
    assert "Dupont" not in sent.body + sent.subject  # type: ignore[attr-defined]


def test_it_leaves_a_personal_mailbox_alone_until_it_is_shared(alice: User, bob: User) -> None:
    own = Mailbox.objects.get(owner=alice)
    folder = Folder.objects.create(mailbox=own, name="INBOX")
    hooks.on_messages_indexed(own, folder, [incoming(folder, 1, timezone.now())])
    assert not Conversation.objects.filter(mailbox=own).exists()  # no triage, no cost
    Delegation.objects.create(person=bob, mailbox=own, role="triage")
    queries.ensure_backfilled(own)  # the list's first opening
    assert Conversation.objects.get(mailbox=own).thread_key == THREAD


def test_it_releases_the_conversations_of_an_expired_delegation(
    shared: Mailbox, manager: User, bob: User, dora: User
) -> None:
    actions.do_assign(manager, shared, THREAD, bob)
    actions.do_assign(manager, shared, "<other@example.test>", dora)
    Delegation.objects.filter(person=bob).update(expires_at=timezone.now() - timedelta(1))
    assert actions.do_release_lost(shared) == 1
    assert Conversation.objects.get(thread_key=THREAD).assignee is None
    assert Conversation.objects.get(thread_key="<other@example.test>").assignee == dora
    event = AuditEvent.objects.get(action="triage.unassign")
    assert (event.actor, event.target) == (None, "bob conversations=1")
    assert actions.do_release_lost(shared) == 0
