"""Reading messages from the operator: opening one (it becomes \\Seen, the cache follows, the
opening is audited), fetching without marking it read (the body frame, parts, a reply's
original: through the reader's short-lived body cache), and the read report the person chose
to send. Callers have checked access (READ, or SEND for the read report)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from mailboxes import audit
from mailboxes.actions import outbox
from mailboxes.errors import OperatorUnavailable
from mailboxes.mail import mime, receipts
from mailboxes.mailcache import cache
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


def do_read_message(
    person: User, mailbox: Mailbox, folder: str, uid: int, request: HttpRequest | None = None
) -> tuple[mime.ParsedMessage, tuple[bytes, ...]]:
    """Open a message: parsed once, \\Seen at the operator and in the cache, audited (with
    its Message-ID, never its subject) whether it opened or not."""
    with audit.Recorder(person, "message.read", mailbox=mailbox, target=f"{folder}/{uid}",
                        request=request) as event:  # fmt: skip
        raw, flags = fetch(mailbox, folder, uid, peek=False)
        parsed = mime.parse(raw)
        cache.after_flags(mailbox, folder, [uid], seen=True)  # reading marked it \\Seen
        event.target = f"{folder}/{uid} {parsed.message_id}"
        return parsed, flags


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
    return True
