"""Reading triage state for the pages: lists, counts, a conversation's panel.

Lists are of conversations (Conversation rows, indexed on assignee/mailbox + status + date),
each shown with its newest cached message (sender, subject) fetched for the page's rows only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from mailboxes.mailcache import live
from mailboxes.models import Delegation, Mailbox, MessageIndex, User
from triage.models import Conversation, Event, Note, ReadMark

if TYPE_CHECKING:
    from django.db.models import QuerySet

PER_PAGE = 50
# Folders whose new messages are not someone writing to the mailbox.
NOT_INCOMING = ("\\Sent", "\\Drafts", "\\Junk", "\\Trash")


def is_shared(mailbox: Mailbox) -> bool:
    """Triage is for mailboxes several people handle: organisational ones, and any mailbox
    with an active delegation."""
    if mailbox.kind == Mailbox.Kind.ORGANISATIONAL:
        return True
    known: bool | None = getattr(mailbox, "delegated", None)  # read by access.with_roles
    if known is not None:
        return known
    return Delegation.objects.active().filter(mailbox=mailbox).exists()


@dataclass(frozen=True)
class Filters:
    """What a triage list shows: a view ("mine", "unassigned", "all"), then filters."""

    view: str = "all"
    status: str = ""  # "" = every status but Traité; "any" = all of them
    label: str = ""
    assignee: int | None = None


def filtered(
    rows: QuerySet[Conversation], filters: Filters, person: User
) -> QuerySet[Conversation]:
    if filters.view == "mine":
        rows = rows.filter(assignee=person)
    elif filters.view == "unassigned":
        rows = rows.filter(assignee__isnull=True)
    if filters.status == "any":
        pass
    elif filters.status in Conversation.Status.values:
        rows = rows.filter(status=filters.status)
    else:
        rows = rows.exclude(status=Conversation.Status.DONE)
    if filters.label:
        rows = rows.filter(labels__contains=[filters.label])
    if filters.assignee:
        rows = rows.filter(assignee_id=filters.assignee)
    return rows


@dataclass
class Row:
    """One line of a triage list: the conversation and its newest cached message."""

    conversation: Conversation
    message: dict[str, Any] | None  # ROW_FIELDS of its newest message
    unread: bool = False


@dataclass
class Listing:
    rows: list[Row] = field(default_factory=list)
    more: bool = False
    html: str = ""  # the rows rendered, when a cached page has no Row objects


def with_read_state(rows: QuerySet[Conversation], person: User) -> QuerySet[Conversation]:
    """Each conversation with `read`: the person read it since its newest message came in
    (their own read state; IMAP's \\Seen is shared by everybody on the mailbox)."""
    mark = ReadMark.objects.filter(
        person=person, conversation=OuterRef("pk"), read_at__gte=OuterRef("last_message_at")
    )
    return rows.annotate(read=Exists(mark))


def page(rows: QuerySet[Conversation], person: User, number: int = 1) -> Listing:
    """A page of conversations, newest first, with their newest messages: two queries."""
    start = (max(number, 1) - 1) * PER_PAGE
    ordered = with_read_state(rows, person).select_related("assignee", "mailbox")
    found = list(ordered.order_by("-last_message_at", "-pk")[start : start + PER_PAGE + 1])
    conversations = found[:PER_PAGE]
    newest = newest_messages(conversations)
    return Listing(
        rows=[
            Row(c, newest.get((c.mailbox_id, c.thread_key)), not getattr(c, "read", True))
            for c in conversations
        ],
        more=len(found) > PER_PAGE,
    )


ROW_FIELDS = (
    "folder__mailbox_id",
    "thread_key",
    "subject",
    "sender_name",
    "sender_address",
    "preview",
)


def newest_messages(conversations: list[Conversation]) -> dict[tuple[int, str], dict[str, Any]]:
    """The newest incoming message of each conversation, as plain values (a page reads
    four fields of each; model instances cost more than the query)."""
    if not conversations:
        return {}
    keys = {c.thread_key for c in conversations}
    mailboxes = {c.mailbox_id for c in conversations}
    messages = (
        MessageIndex.objects.filter(thread_key__in=keys, folder__mailbox_id__in=mailboxes)
        .exclude(folder__special_use__in=NOT_INCOMING)
        .order_by("date", "uid")
        .values(*ROW_FIELDS)
    )
    return {(m["folder__mailbox_id"], m["thread_key"]): m for m in messages}  # the newest wins


def counts(
    person: User, mailbox: Mailbox | None = None, readable: Collection[int] | None = None
) -> dict[str, int]:
    """The sidebar's numbers: open conversations assigned to the person (every mailbox),
    and, for a shared mailbox, its open unassigned ones. `readable`: see assigned_to."""
    if readable is None:
        found = {"mine": Conversation.objects.open().assigned_to(person).count()}
    else:  # every list page: counted by SQL of our own (the ORM's building cost more)
        ids = [int(pk) for pk in readable]
        marks = ", ".join(["%s"] * len(ids))
        where = f"assignee_id = %s AND mailbox_id IN ({marks})" if ids else "1 = 0"
        found = {"mine": _open_count(where, [person.pk, *ids] if ids else [])}
    if mailbox is not None:
        found["unassigned"] = _open_count("assignee_id IS NULL AND mailbox_id = %s", [mailbox.pk])
    return found


def _open_count(where: str, params: list[int]) -> int:
    """Open conversations (Conversation.objects.open()) meeting `where`."""
    table = Conversation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE status <> %s AND {where}",  # noqa: S608 - our own SQL
            [Conversation.Status.DONE, *params],
        )
        return int(cursor.fetchone()[0])


def panel_state(mailbox: Mailbox, thread_key: str) -> tuple[Conversation | None, list[Event]]:
    """The conversation's triage row (None: never triaged) and its history, notes joined."""
    conversation = Conversation.objects.filter(mailbox=mailbox, thread_key=thread_key).first()
    if conversation is None:
        return None, []
    events = list(
        conversation.events.select_related("actor", "note", "note__author").order_by("created")
    )
    return conversation, events


def notes_of(conversation: Conversation) -> list[Note]:
    return list(conversation.notes.select_related("author"))


def mark_read(person: User, conversation: Conversation) -> None:
    """The person has read the conversation as it is now (their lists are drawn anew)."""
    ReadMark.objects.update_or_create(
        person=person, conversation=conversation, defaults={"read_at": timezone.now()}
    )
    transaction.on_commit(lambda: live.client().incr(_read_key(person)))


def _read_key(person: User) -> str:
    return f"webmail:triage:read:{person.pk}"


def state_of(person: User, mailbox_ids: list[int]) -> tuple[int, ...]:
    """What a person's "Assigné à moi" rows depend on, in one round trip: the version of
    each mailbox (every triage change and every sync that brings mail bumps it) and of the
    person's own read state."""
    keys = [_read_key(person), *(f"webmail:version:{pk}" for pk in mailbox_ids)]
    return tuple(int(value or 0) for value in live.client().mget(keys))


def labels_in(mailbox: Mailbox) -> list[str]:
    """The labels used in the mailbox, for the filter (a few dozen rows carry labels)."""
    used: set[str] = set()
    rows = Conversation.objects.filter(mailbox=mailbox).exclude(labels=[])
    for labels in rows.values_list("labels", flat=True)[:1000]:
        used.update(labels)
    return sorted(used)


BACKFILL_CHUNK = 2000


def backfill(mailbox: Mailbox) -> int:
    """Conversation rows for mail cached before triage existed (the sync's hook makes them
    for new mail): every conversation with incoming mail, Nouveau, with its newest date."""
    newest = (
        MessageIndex.objects.filter(folder__mailbox=mailbox)
        .exclude(folder__special_use__in=NOT_INCOMING)
        .exclude(thread_key="")
        .exclude(sender_address__iexact=mailbox.address)
        .values("thread_key")
        .annotate(last=Max("date"))
    )
    made = [
        Conversation(mailbox=mailbox, thread_key=row["thread_key"], last_message_at=row["last"])
        for row in newest
    ]
    with transaction.atomic():
        Conversation.objects.bulk_create(made, ignore_conflicts=True, batch_size=BACKFILL_CHUNK)
    return len(made)


BACKFILLED_SECONDS = 24 * 3600


def ensure_backfilled(mailbox: Mailbox) -> None:
    """When the mailbox has no conversation yet, or once a day: mail cached while it was
    not shared (the sync's hook skips those mailboxes) gets its rows. Idempotent."""
    empty = not Conversation.objects.filter(mailbox=mailbox).exists()
    if empty or cache.add(f"webmail:triage:backfilled:{mailbox.pk}", 1, BACKFILLED_SECONDS):
        backfill(mailbox)
