"""Triage state of conversations in shared mailboxes.

A conversation is (mailbox, thread_key): the key the cache gives every message of one thread
(mailboxes.models.MessageIndex.thread_key, the first Message-ID of References). Never a
foreign key to a cached message: the sync deletes and re-inserts cache rows in bulk (a
rebuilt folder, a message moved), while a conversation's assignee, status and notes stay.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mailboxes import access
from mailboxes.models import Mailbox, Structure, User


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def open(self) -> ConversationQuerySet:
        """Not handled yet: every status but Traité."""
        return self.exclude(status=Conversation.Status.DONE)

    def assigned_to(
        self, person: User, readable: Collection[int] | None = None
    ) -> ConversationQuerySet:
        """Assigned to `person`, in the mailboxes they may still read: a delegation that
        ended unassigns, but an expired one has no event to act on, so the filter is here.
        `readable`: the ids of access.mailboxes_for(person), when the page has them already."""
        if readable is None:
            return self.filter(
                assignee=person, mailbox__in=access.mailboxes_for(person).values("pk")
            )
        return self.filter(assignee=person, mailbox_id__in=readable)

    def unassigned(self) -> ConversationQuerySet:
        """No assignee (NULL): never assigned, unassigned, or the assignee lost access."""
        return self.filter(assignee__isnull=True)


class Conversation(models.Model):
    """Who handles one conversation of a mailbox, and where it stands."""

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("triage status", "New")
        OPEN = "open", pgettext_lazy("triage status", "In progress")
        WAITING = "waiting", pgettext_lazy("triage status", "Waiting")
        DONE = "done", pgettext_lazy("triage status", "Done")

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+")
    thread_key = models.CharField(max_length=250)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # IMAP keywords (RFC 3501 flag-keyword atoms), mirrored on the conversation's messages.
    labels = models.JSONField(default=list, blank=True)
    # The newest message that came in: orders the lists; an incoming reply after
    # `status_changed_at` reopens a conversation that was done or waiting.
    last_message_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Bumped by every change the conversation's open pages show (assignee, status, labels, a
    # note, a reply sent): their live panel redraws when it moved. A reply being written
    # remembers it; when it moved, the send is stopped if the history since holds a change
    # a reply must not miss (triage.collisions.STOPPING: not a note nor a label).
    version = models.PositiveIntegerField(default=0)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        verbose_name = _("conversation")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["mailbox", "thread_key"], name="triage_conversation_unique"
            )
        ]
        indexes: ClassVar = [
            # "Assigné à moi" (not done, newest first): read in order, stopping at a page,
            # so each row's read state is looked up for that page only (benchmarks/).
            models.Index(
                fields=["assignee", "-last_message_at", "-id"],
                condition=~models.Q(status="done"),
                name="triage_open_by_assignee",
            ),
            models.Index(fields=["assignee", "status", "-last_message_at"]),
            models.Index(fields=["mailbox", "status", "-last_message_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.thread_key}"


class Note(models.Model):
    """An internal note on a conversation: never sent, never written to the operator (IMAP).
    Health data may be in it: it is shown to the mailbox's people, never audited nor logged."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField(_("note"), max_length=5000)
    mentions = models.ManyToManyField(User, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["created"]

    def __str__(self) -> str:
        return f"note {self.pk}"


class Event(models.Model):
    """One change of a conversation, for its history (who, when, what): append-only."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("assigned to")
        UNASSIGNED = "unassigned", _("unassigned")
        STATUS = "status", _("status changed to")
        REOPENED = "reopened", _("reopened by an incoming message")
        NOTE = "note", _("note added")
        LABELLED = "labelled", _("label added")
        UNLABELLED = "unlabelled", _("label removed")
        REPLIED = "replied", _("reply sent")
        ACCESS_ENDED = "access_ended", _("unassigned, access ended:")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    created = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The new value: a status, a person's name, a label. Never a note's text (see `note`).
    value = models.CharField(max_length=200, blank=True)
    note = models.ForeignKey(Note, on_delete=models.CASCADE, null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["created", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"

    @property
    def value_label(self) -> str:
        """The value as people read it: a status by its name, the rest as written."""
        if self.kind == self.Kind.STATUS and self.value in Conversation.Status.values:
            return str(Conversation.Status(self.value).label)
        return self.value


class ReadMark(models.Model):
    """When a person last read a conversation of a shared mailbox: their own read state.
    IMAP's \\Seen is one flag for everybody (the first reader would mark it read for all)."""

    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="read_marks"
    )
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["person", "conversation"], name="triage_read_unique")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} read {self.conversation_id}"


class SavedReply(models.Model):
    """A reply text of a structure, with placeholders, that its people insert in the
    composer; the structure's managers write them."""

    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=5000)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved reply")
        ordering: ClassVar = ["title"]

    def __str__(self) -> str:
        return self.title
