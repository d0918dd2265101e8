"""Drafts kept in the mailbox's Drafts folder at the operator while the person types (so
another mail client sees them too). Callers have checked SEND on the mailbox."""

from __future__ import annotations

import contextlib
from email.policy import SMTP
from typing import TYPE_CHECKING

from mailboxes import audit
from mailboxes.actions import outbox
from mailboxes.errors import OperatorUnavailable
from mailboxes.mail import mime
from mailboxes.operator import imap

if TYPE_CHECKING:
    from django.http import HttpRequest

    from mailboxes.models import Mailbox, User


def do_save_draft(
    person: User,
    mailbox: Mailbox,
    draft: outbox.Draft,
    previous: int | None,
    request: HttpRequest | None = None,
) -> int | None:
    """Store this version and delete the previous one; its new UID (None if the server gives
    none). OperatorUnavailable when it could not be kept; audited either way."""
    raw = outbox.build(person, mailbox, draft).as_bytes(policy=SMTP)
    with audit.Recorder(person, "draft.save", mailbox=mailbox, request=request) as event:
        uid = imap.replace_draft(mailbox, raw, previous)
        event.target = f"Drafts/{uid}"
        return uid


def draft_message(mailbox: Mailbox, uid: int) -> bytes | None:
    """A draft's raw message, to write on from it, or None."""
    folder = imap.special_folder(mailbox, "\\Drafts")
    return imap.fetch_message(mailbox, folder, uid, peek=True) if folder else None


def do_drop_draft(mailbox: Mailbox, uid: int) -> None:
    """The message left: its draft has done its job (kept if the operator is away)."""
    with contextlib.suppress(OperatorUnavailable):
        imap.delete_draft(mailbox, uid)


def attachments_of(raw: bytes) -> list[mime.Part]:
    """A draft's attachments, in order: what the composer offers to keep (by position)."""
    try:
        msg = mime.message(raw)
    except mime.TooDeep:
        return []
    found = (mime.part_at(msg, a.index) for a in mime.attachments(msg))
    return [part for part in found if part is not None]


def kept_attachments(mailbox: Mailbox, uid: int, keep: list[int]) -> list[tuple[str, str, bytes]]:
    """The attachments of draft `uid` at the positions the person kept (ticked), as a new
    version of the draft or the message sent from it carries them; none if it is gone."""
    if not keep:
        return []
    raw = draft_message(mailbox, uid)
    parts = attachments_of(raw) if raw else []
    return [
        (part.filename or "piece-jointe", part.content_type, part.payload)
        for position, part in enumerate(parts)
        if position in keep
    ]
