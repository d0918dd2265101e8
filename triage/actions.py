"""Every change of a conversation's triage: assign, status, notes, labels, and releasing
the conversations of people who lost access (triage/hooks.py answers the domain's hooks).

Each do_* owns its transaction, writes the conversation's history (Event) and one audit
event without content (CONF.17-18: a note's text, a subject or a patient never reach the
trail), and tells open pages on commit (mailboxes.mailcache.live). Callers have checked
Action.TRIAGE on the mailbox in mailboxes.access.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from mailboxes import access, audit
from mailboxes.access import Action
from mailboxes.actions import messages as message_actions
from mailboxes.errors import BadRequest
from mailboxes.mailcache import live
from mailboxes.models import Mailbox, MessageIndex, Notification, User
from triage import people, presence
from triage.models import Conversation, Event, Note

if TYPE_CHECKING:
    from django.http import HttpRequest

Status = Conversation.Status
# Nouveau is where a conversation starts, never where one goes back to: a conversation
# handled once is "En cours" when it needs attention again.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.WAITING, Status.DONE}),
    Status.OPEN: frozenset({Status.WAITING, Status.DONE}),
    Status.WAITING: frozenset({Status.OPEN, Status.DONE}),
    Status.DONE: frozenset({Status.OPEN}),
}
REOPENED_BY_REPLY = frozenset({Status.WAITING, Status.DONE})
# An IMAP keyword is an atom (RFC 3501 flag-keyword); we keep to letters, digits and - _.
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_LABELS = 10


def conversation_for(mailbox: Mailbox, thread_key: str, *, lock: bool = False) -> Conversation:
    """The conversation's triage row, made on first use (state starts at Nouveau)."""
    if not thread_key or len(thread_key) > 250:
        raise BadRequest("no conversation")
    conversation, _ = Conversation.objects.get_or_create(mailbox=mailbox, thread_key=thread_key)
    if lock:
        return Conversation.objects.select_for_update().get(pk=conversation.pk)
    return conversation


def changed(conversation: Conversation, *fields: str) -> None:
    """Save the fields, bump the version (what the conversation's live panel shows, and what
    a reply being written checks), redraw the open lists and the conversation's pages."""
    conversation.version = F("version") + 1
    conversation.save(update_fields=[*fields, "version"])
    conversation.refresh_from_db(fields=["version"])
    redraw(conversation.mailbox_id, conversation.thread_key)


def redraw(mailbox_id: int, thread_key: str = "") -> None:
    """On commit: the mailbox's open lists redraw; and, for a conversation, its open pages
    (triage.presence.announce: on the same channel, by an opaque id)."""

    def told() -> None:
        live.bump(mailbox_id)
        if thread_key:
            presence.announce(mailbox_id, thread_key)

    transaction.on_commit(told)


def _notify(person: User, text: str) -> None:
    """In the app's notifications, and by e-mail when WEBMAIL_TRIAGE_EMAIL says so; never
    any health data (who and which mailbox: no subject, no patient, no note's text)."""
    Notification.objects.create(person=person, text=text[:500])
    transaction.on_commit(lambda: access.forget_navigation(person.pk))
    if settings.WEBMAIL_TRIAGE_EMAIL and person.email:
        subject = _("MSSanté webmail: a conversation for you")
        transaction.on_commit(lambda: send_mail(subject, text, None, [person.email]))


def audited(
    actor: User | None, action: str, mailbox: Mailbox, target: str, request: HttpRequest | None
) -> None:
    audit.record(actor, action, mailbox=mailbox, target=target, request=request)


@transaction.atomic
def do_assign(
    actor: User,
    mailbox: Mailbox,
    thread_key: str,
    assignee: User | None,
    request: HttpRequest | None = None,
) -> Conversation:
    """Give the conversation to `assignee` (None: nobody). The assignee needs the triage
    role on the mailbox (BadRequest otherwise). A new conversation that someone takes is
    "En cours"; the assignee is told, unless they assigned themselves."""
    if assignee is not None and not access.can(assignee, Action.TRIAGE, mailbox):
        raise BadRequest("the assignee has no triage role on the mailbox")
    conversation = conversation_for(mailbox, thread_key, lock=True)
    if conversation.assignee_id == (assignee.pk if assignee else None):
        return conversation
    conversation.assignee = assignee
    fields = ["assignee"]
    started = assignee is not None and conversation.status == Status.NEW
    if started:
        conversation.status, conversation.status_changed_at = Status.OPEN, timezone.now()
        fields += ["status", "status_changed_at"]
    changed(conversation, *fields)
    if assignee is None:
        Event.objects.create(conversation=conversation, actor=actor, kind=Event.Kind.UNASSIGNED)
    else:
        Event.objects.create(
            conversation=conversation, actor=actor, kind=Event.Kind.ASSIGNED, value=str(assignee)
        )
    if started:
        Event.objects.create(
            conversation=conversation, actor=actor, kind=Event.Kind.STATUS, value=Status.OPEN
        )
    who = assignee.get_username() if assignee else "-"
    audited(actor, "triage.assign", mailbox, f"{thread_key} {who}", request)
    if assignee is not None and assignee.pk != actor.pk:
        _notify(
            assignee,
            _("%(person)s assigned you a conversation in the mailbox %(mailbox)s.")
            % {"person": actor, "mailbox": mailbox.address},
        )
    return conversation


@transaction.atomic
def do_set_status(
    actor: User,
    mailbox: Mailbox,
    thread_key: str,
    status: str,
    request: HttpRequest | None = None,
) -> Conversation:
    """Move the conversation to `status` along TRANSITIONS (BadRequest otherwise); the same
    status again changes nothing."""
    conversation = conversation_for(mailbox, thread_key, lock=True)
    if status == conversation.status:
        return conversation
    if status not in TRANSITIONS.get(conversation.status, frozenset()):
        raise BadRequest(f"no way from {conversation.status} to {status}")
    conversation.status, conversation.status_changed_at = status, timezone.now()
    changed(conversation, "status", "status_changed_at")
    Event.objects.create(
        conversation=conversation, actor=actor, kind=Event.Kind.STATUS, value=status
    )
    audited(actor, "triage.status", mailbox, f"{thread_key} {status}", request)
    return conversation


@transaction.atomic
def do_add_note(
    actor: User,
    mailbox: Mailbox,
    thread_key: str,
    text: str,
    request: HttpRequest | None = None,
) -> Note:
    """An internal note: kept here, never sent nor written to the operator. The people of
    the mailbox it @mentions are told (without the text). The audit event says a note was
    written and how many people it mentions, never what it says."""
    text = text.strip()[:5000]
    if not text:
        raise BadRequest("empty note")
    conversation = conversation_for(mailbox, thread_key)
    note = Note.objects.create(conversation=conversation, author=actor, text=text)
    mentions = people.mentioned(text, people.people_of(mailbox))
    note.mentions.set(mentions)
    Event.objects.create(conversation=conversation, actor=actor, kind=Event.Kind.NOTE, note=note)
    audited(actor, "triage.note", mailbox, f"{thread_key} mentions={len(mentions)}", request)
    for person in mentions:
        if person.pk != actor.pk:
            _notify(
                person,
                _("%(person)s mentioned you in a note in the mailbox %(mailbox)s.")
                % {"person": actor, "mailbox": mailbox.address},
            )
    changed(conversation)  # its open pages show the note in the history
    return note


def check_label(label: str) -> str:
    label = label.strip()
    if not LABEL.match(label) or label.startswith("$"):
        raise BadRequest("a label is letters, digits, - and _")
    return label


def do_set_label(
    actor: User,
    mailbox: Mailbox,
    thread_key: str,
    label: str,
    on: bool,
    request: HttpRequest | None = None,
) -> Conversation:
    """Add (or remove) a label. Kept here first; then mirrored as an IMAP keyword on the
    conversation's cached messages so other mail clients see it (mailboxes.actions, audited
    there with the operator's answer; an unreachable operator leaves the label here)."""
    label = check_label(label)
    with transaction.atomic():
        conversation = conversation_for(mailbox, thread_key, lock=True)
        labels = list(conversation.labels)
        if (label in labels) == on:
            return conversation
        if on and len(labels) >= MAX_LABELS:
            raise BadRequest("too many labels")
        conversation.labels = [*labels, label] if on else [x for x in labels if x != label]
        changed(conversation, "labels")
        kind = Event.Kind.LABELLED if on else Event.Kind.UNLABELLED
        Event.objects.create(conversation=conversation, actor=actor, kind=kind, value=label)
        audited(
            actor, "triage.label", mailbox, f"{thread_key} {'+' if on else '-'}{label}", request
        )
    located = MessageIndex.objects.filter(folder__mailbox=mailbox, thread_key=thread_key)
    by_folder: dict[str, list[int]] = {}
    for folder, uid in located.values_list("folder__name", "uid"):
        by_folder.setdefault(folder, []).append(uid)
    message_actions.do_set_keyword(actor, mailbox, by_folder, label, on, request)
    return conversation


@transaction.atomic
def do_release_lost(mailbox: Mailbox) -> int:
    """Unassign whoever can no longer triage the mailbox although no revocation told us (a
    delegation that expired): back to "Non assigné", in the history (no actor: the
    delegation's end did it) and one audit event per person. Returns how many."""
    held = (
        Conversation.objects.filter(mailbox=mailbox, assignee__isnull=False)
        .values_list("assignee_id", flat=True)
        .distinct()
    )
    lost = [
        p for p in User.objects.filter(pk__in=held) if not access.can(p, Action.TRIAGE, mailbox)
    ]
    released = 0
    for person in lost:
        rows = list(
            Conversation.objects.select_for_update().filter(mailbox=mailbox, assignee=person)
        )
        for conversation in rows:
            conversation.assignee = None
            changed(conversation, "assignee")
            Event.objects.create(
                conversation=conversation, kind=Event.Kind.ACCESS_ENDED, value=str(person)
            )
        target = f"{person.get_username()} conversations={len(rows)}"
        audited(None, "triage.unassign", mailbox, target, None)
        released += len(rows)
    return released
