"""What the domain's hooks (mailboxes.signals, connected in TriageConfig.ready) make of new
mail, replies sent and delegations that end. Each writes the conversation's history and,
for a change of who handles it, the audit trail (CONF.17-18), without content."""

from __future__ import annotations

from email.message import Message
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from mailboxes import access
from mailboxes.access import Action
from mailboxes.models import Delegation, Folder, Mailbox, MessageIndex, Outgoing, User
from triage import labels, queries
from triage.actions import (
    REOPENED_BY_REPLY,
    Status,
    audited,
    changed,
    conversation_for,
)
from triage.models import Conversation, Event

if TYPE_CHECKING:
    from django.http import HttpRequest

NOT_INCOMING = frozenset(queries.NOT_INCOMING)


def on_messages_indexed(mailbox: Mailbox, folder: Folder, messages: list[MessageIndex]) -> None:
    """New mail in the cache: every incoming conversation has its triage row (Nouveau), its
    newest date moves on, and one that was done or waiting is reopened ("En cours") by a
    message written after its status was set (a rebuilt folder re-indexes old mail: that
    reopens nothing). In every folder, keywords other clients set are read back as labels
    and a labelled conversation's labels go on its new messages (triage.labels)."""
    if folder.special_use not in NOT_INCOMING and queries.is_shared(mailbox):
        _incoming(mailbox, messages)
    labels.read_back(mailbox, labels.keywords_of(messages))
    labels.mirror_new(mailbox, folder, messages)


def _incoming(mailbox: Mailbox, messages: list[MessageIndex]) -> None:
    own = mailbox.address.lower()
    newest: dict[str, MessageIndex] = {}
    for message in messages:
        if message.thread_key and message.sender_address.lower() != own:
            known = newest.get(message.thread_key)
            if known is None or message.date > known.date:
                newest[message.thread_key] = message
    if newest:
        with transaction.atomic():
            _arrived(mailbox, newest)


def _arrived(mailbox: Mailbox, newest: dict[str, MessageIndex]) -> None:
    Conversation.objects.bulk_create(
        [
            Conversation(mailbox=mailbox, thread_key=key, last_message_at=m.date)
            for key, m in newest.items()
        ],
        ignore_conflicts=True,
    )
    rows = Conversation.objects.select_for_update().filter(
        mailbox=mailbox, thread_key__in=list(newest)
    )
    for conversation in rows:
        date = newest[conversation.thread_key].date
        fields = []
        if date > conversation.last_message_at:
            conversation.last_message_at = date
            fields.append("last_message_at")
        if conversation.status in REOPENED_BY_REPLY and date > conversation.status_changed_at:
            conversation.status, conversation.status_changed_at = Status.OPEN, timezone.now()
            changed(conversation, *fields, "status", "status_changed_at")
            Event.objects.create(conversation=conversation, kind=Event.Kind.REOPENED)
            audited(None, "triage.reopen", mailbox, conversation.thread_key, None)
        elif fields:
            conversation.save(update_fields=fields)


def thread_of(mailbox: Mailbox, message: Message) -> str:
    """The conversation a message we send answers: the one of the message it replies to,
    as the cache knows it, else the first Message-ID of its References."""
    replied = str(message.get("In-Reply-To", "") or "").strip()
    if not replied:
        return ""
    key = (
        MessageIndex.objects.filter(folder__mailbox=mailbox, message_id=replied)
        .exclude(thread_key="")
        .values_list("thread_key", flat=True)
        .first()
    )
    if key:
        return key
    references = str(message.get("References", "") or "").split()
    return references[0] if references else replied


def on_message_queued(outgoing: Outgoing, message: Message, action: str) -> None:
    """A reply leaves from the mailbox: its history says who sent it ("envoyé par"), and a
    reply being written by someone else in the meantime is stopped (the version moves)."""
    mailbox, author = outgoing.mailbox, outgoing.author
    if action != "message.queue" or not queries.is_shared(mailbox):
        return
    key = thread_of(mailbox, message)
    if not key:
        return
    conversation = conversation_for(mailbox, key, lock=True)
    fields = []
    if conversation.status == Status.NEW:
        conversation.status, conversation.status_changed_at = Status.OPEN, timezone.now()
        fields = ["status", "status_changed_at"]
    changed(conversation, *fields)
    # The actor is who sent it ("envoyé par"): the mailbox's address is the From.
    Event.objects.create(conversation=conversation, actor=author, kind=Event.Kind.REPLIED)


def on_delegation_changed(
    delegation: Delegation, actor: User | None, request: HttpRequest | None
) -> None:
    """A delegation was revoked or lowered: whoever can no longer triage the mailbox is no
    longer assigned there; each conversation goes back to "Non assigné", in its history and
    in one audit event."""
    person, mailbox = delegation.person, delegation.mailbox
    if access.can(person, Action.TRIAGE, mailbox):
        return
    held = list(Conversation.objects.select_for_update().filter(mailbox=mailbox, assignee=person))
    for conversation in held:
        conversation.assignee = None
        changed(conversation, "assignee")
        Event.objects.create(
            conversation=conversation,
            actor=actor,
            kind=Event.Kind.ACCESS_ENDED,
            value=str(person),
        )
    if held:
        target = f"{person.get_username()} conversations={len(held)}"
        audited(actor, "triage.unassign", mailbox, target, request)
