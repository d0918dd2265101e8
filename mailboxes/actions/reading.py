"""Reading messages from the operator: opening one (it becomes \\Seen, the cache follows, the
opening is audited), fetching without marking it read (the body frame, parts, a reply's
original: through the reader's short-lived body cache), and the read report the person chose
to send. Callers have checked access (READ, or SEND for the read report)."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connections, router

from mailboxes import audit
from mailboxes.actions import outbox
from mailboxes.errors import OperatorUnavailable
from mailboxes.mail import mime, receipts
from mailboxes.mailcache import cache
from mailboxes.models import Folder, MessageIndex, direct
from mailboxes.operator import imap

if TYPE_CHECKING:
    from django.http import HttpRequest

    from mailboxes.models import Mailbox, User


class NotThere(LookupError):
    """No message with that UID in that folder (expunged meanwhile, or never)."""


def fetch(
    mailbox: Mailbox, folder: str, uid: int, *, peek: bool
) -> tuple[bytes, tuple[bytes, ...]]:
    """The raw message and its flags from the operator, kept a few minutes for the frame and
    parts. NotThere, FolderMissing or OperatorUnavailable."""
    found = imap.fetch_with_flags(mailbox, folder, uid, peek=peek)
    if found is None:
        raise NotThere(f"{folder}/{uid}")
    cache.remember_body(mailbox, folder, uid, found[0])
    return found


def peek(mailbox: Mailbox, folder: str, uid: int) -> bytes:
    """The raw message without marking it read: the reader's cache first, else the operator."""
    if (raw := cache.cached_body(mailbox, folder, uid)) is not None:
        return raw
    return fetch(mailbox, folder, uid, peek=True)[0]


READER_FIELDS = (
    "uid", "message_id", "thread_key", "seen", "flagged", "answered", "keywords",
    "folder__name", "folder__uidvalidity", "folder__mailbox_id",
    "date", "sort_sender", "sort_subject", "size",  # the list's sort keys: previous/next
)  # fmt: skip


def row_of(mailbox: Mailbox, folder: str, uid: int) -> MessageIndex | None:
    """The cache's row of a message, with its folder (one query): what the reader knows of
    it without asking the operator. The reader's fields only (READER_FIELDS), the others
    deferred; read by SQL of our own (models.direct: the ORM's building of it cost more than
    the database's answer, on every opening, issue 16)."""
    connection = connections[router.db_for_read(MessageIndex)]
    with connection.cursor() as cursor:
        cursor.execute(_row_sql(connection.alias), (mailbox.pk, folder, uid))
        found = cursor.fetchone()
    if found is None:
        return None
    rows, folders = _row_shapes()
    row, _ = direct.joined(rows, "folder", folders, found, connection)
    return row


@functools.cache
def _row_shapes() -> tuple[direct.Shape[MessageIndex], direct.Shape[Folder]]:
    own = tuple(name for name in READER_FIELDS if not name.startswith("folder__"))
    of_folder = tuple(
        name.removeprefix("folder__") for name in READER_FIELDS if name.startswith("folder__")
    )
    return direct.shape(MessageIndex, (*own, "folder")), direct.shape(Folder, of_folder)


@functools.cache
def _row_sql(alias: str) -> str:
    connection = connections[alias]
    rows, folders = _row_shapes()
    index, folder = MessageIndex._meta.db_table, Folder._meta.db_table
    return (
        f"SELECT {rows.columns('mi', connection)}, {folders.columns('f', connection)}"  # noqa: S608 - names from _meta
        f" FROM {index} mi INNER JOIN {folder} f ON f.id = mi.folder_id"
        " WHERE f.mailbox_id = %s AND f.name = %s AND mi.uid = %s LIMIT 1"
    )


def flags_of(row: MessageIndex) -> tuple[bytes, ...]:
    """The message's flags as the last sync (and our own changes since) left them."""
    system = ((b"\\Seen", row.seen), (b"\\Flagged", row.flagged), (b"\\Answered", row.answered))
    return tuple(flag for flag, on in system if on) + tuple(k.encode() for k in row.keywords)


@dataclass(frozen=True)
class Opened:
    """A message opened: parsed once when it had to be fetched (None when the caller said it
    holds what it shows already), its flags."""

    parsed: mime.ParsedMessage | None
    flags: tuple[bytes, ...]
    message_id: str


def do_read_message(
    person: User,
    mailbox: Mailbox,
    folder: str,
    uid: int,
    request: HttpRequest | None = None,
    *,
    row: MessageIndex | None = None,
    content_known: bool = False,
) -> Opened:
    """Open a message: \\Seen at the operator and in the cache, audited (with its
    Message-ID, never its subject) whether it opened or not.

    `row`: the cache's row of the message (reading.row_of), if it has one; `content_known`:
    the caller holds its content already (the reader's snapshot). Then, read already, the
    operator is not asked at all: the sync's word that it exists is enough (issue 16: an
    opened message opens again without a round trip); unread, only its \\Seen flag is set
    there. Else the source is fetched (and marked).
    Opening never bumps the mailbox's version: the others' lists need not redraw for it
    (issue 17); the opener's own list is drawn anew, its folder's unread count having moved.
    """
    with audit.Recorder(person, "message.read", mailbox=mailbox, target=f"{folder}/{uid}",
                        request=request) as event:  # fmt: skip
        if row is not None and content_known:
            if not row.seen:
                imap.set_flag(mailbox, folder, [uid], b"\\Seen", True)
                cache.after_read(row)
            event.target = f"{folder}/{uid} {row.message_id}"
            return Opened(None, (*flags_of(row), b"\\Seen"), row.message_id)
        raw, flags = fetch(mailbox, folder, uid, peek=False)
        parsed = mime.parse(raw)
        if row is not None:  # reading marked it
            cache.after_read(row)
        else:
            cache.after_flags(mailbox, folder, [uid], quiet=True, seen=True)
        event.target = f"{folder}/{uid} {parsed.message_id}"
        return Opened(parsed, flags, parsed.message_id)


def mdn_already_sent(mailbox: Mailbox, folder: str, uid: int) -> bool:
    """Whether our read-report keyword is on the message; True when the operator cannot say
    (when in doubt, do not offer: the person can try again later)."""
    try:
        with imap.imap_session(mailbox) as client:
            client.select_folder(folder, readonly=True)
            flags = client.get_flags([uid]).get(uid, ())
    except OperatorUnavailable:
        return True
    return receipts.MDN_SENT in flags


def do_send_mdn(
    person: User, mailbox: Mailbox, folder: str, uid: int, request: HttpRequest | None = None
) -> bool:
    """Queue the read report the message asks for, because the person clicked (never
    automatically), once: the message then carries our keyword. False if none was due."""
    parsed = mime.parse(peek(mailbox, folder, uid))
    asked, _ = receipts.mdn_request(parsed)
    if not asked or mdn_already_sent(mailbox, folder, uid):
        return False
    report = receipts.build_mdn(mailbox, parsed.msg, asked)
    outbox.do_queue_raw(
        person, mailbox, report, [asked], request_dsn=False, request=request, action="mdn.send"
    )
    with contextlib.suppress(OperatorUnavailable):
        imap.set_flag(mailbox, folder, [uid], receipts.MDN_SENT, True)
        cache.after_keyword(mailbox, folder, [uid], receipts.MDN_SENT.decode(), True)
    return True
