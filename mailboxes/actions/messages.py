"""Actions on messages at the operator: flags, moves (archive, Trash, a folder), emptying the
Trash. Each does the operator call, corrects the cache at once (the list follows our own
actions before the next sync) and writes the audit event, success or failure, with the
request made and the server's answer (CONFORMANCE.md §4.8). Callers have checked access."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailboxes import audit
from mailboxes.actions import syncing
from mailboxes.errors import BadRequest, OperatorUnavailable
from mailboxes.mail.folders import check_folder
from mailboxes.mailcache import cache
from mailboxes.operator import imap

if TYPE_CHECKING:
    from django.http import HttpRequest

    from mailboxes.models import Mailbox, User

FLAGS = {
    "read": (b"\\Seen", True),
    "unread": (b"\\Seen", False),
    "flag": (b"\\Flagged", True),
    "unflag": (b"\\Flagged", False),
}
CACHED_FLAGS = {b"\\Seen": "seen", b"\\Flagged": "flagged"}
SPECIAL_MOVES = {"archive": "\\Archive", "delete": "\\Trash"}
ACTIONS = frozenset({*FLAGS, *SPECIAL_MOVES, "move"})


def _audited(
    person: User | None, action: str, mailbox: Mailbox, target: str, request: HttpRequest | None
) -> audit.Recorder:
    return audit.Recorder(person, action, mailbox=mailbox, target=target, request=request)


@dataclass(frozen=True)
class Moved:
    """Messages an action put in another folder, and what undoing it needs: their UIDs in
    the destination (the server's COPYUID, else found by Message-ID) under its UIDVALIDITY."""

    action: str
    source: str
    destination: str
    uidvalidity: int | None
    uids: list[int]
    count: int


def do_message_action(
    person: User,
    mailbox: Mailbox,
    folder: str,
    action: str,
    uids: list[int],
    destination: str = "",
    request: HttpRequest | None = None,
) -> Moved | None:
    """Apply one of ACTIONS to the messages; for a move, where they went (None for a flag).
    Raises BadRequest (no destination) or OperatorUnavailable/OperatorRefused, audited
    either way."""
    with _audited(person, f"message.{action}", mailbox, f"{folder}/{','.join(map(str, uids))}",
                  request) as event:  # fmt: skip
        if action in FLAGS:
            flag, on = FLAGS[action]
            imap.set_flag(mailbox, folder, uids, flag, on)
            cache.after_flags(mailbox, folder, uids, **{CACHED_FLAGS[flag]: on})
            event.response = action
            return None
        if action in SPECIAL_MOVES:
            destination = imap.special_folder(mailbox, SPECIAL_MOVES[action]) or ""
        if not destination or destination == folder:
            raise BadRequest("no destination folder")
        try:
            destination = check_folder(destination)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        message_ids = cache.message_ids(mailbox, folder, uids)  # before the rows go
        copied = imap.move(mailbox, folder, uids, destination)
        cache.after_removal(mailbox, folder, uids)
        syncing.request_sync(mailbox, force=True)  # the destination shows them then
        event.response = f"move to {destination}"
        uidvalidity, moved = copied.uidvalidity, sorted(copied.uids.values())
        if not moved and message_ids:  # a server without UIDPLUS: look for them
            with contextlib.suppress(OperatorUnavailable):
                uidvalidity, moved = imap.uids_by_message_id(mailbox, destination, message_ids)
        return Moved(action, folder, destination, uidvalidity, moved, len(uids))


def do_undo_move(
    person: User, mailbox: Mailbox, moved: Moved, request: HttpRequest | None = None
) -> int:
    """Put moved messages back where they were ("Annuler", a few seconds after a move or a
    deletion to the Trash; the caller has checked access again and the offer's age). Only
    if the destination still has the UIDVALIDITY the move saw; messages moved on from
    there meanwhile stay where they are. Returns how many came back; audited either way."""
    listed = ",".join(map(str, moved.uids))
    target = f"{moved.destination}/{listed} -> {moved.source}"
    with _audited(person, "message.undo", mailbox, target[:500], request) as event:
        if not moved.uids or moved.uidvalidity is None:
            raise BadRequest("nothing known to move back")
        back = imap.move(
            mailbox, moved.destination, moved.uids, moved.source, uidvalidity=moved.uidvalidity
        )
        cache.after_removal(mailbox, moved.destination, moved.uids)
        syncing.request_sync(mailbox, force=True)  # the source lists them again then
        event.response = f"{len(back.uids)} back in {moved.source}"
        return len(back.uids)


def do_delete_for_good(
    person: User, mailbox: Mailbox, trash: str, uids: list[int], request: HttpRequest | None = None
) -> None:
    """Delete messages of the Trash for good ("Supprimer" inside the Trash, once confirmed;
    the caller has checked MANAGE, as for emptying it). Audited either way."""
    with _audited(person, "message.expunge", mailbox, f"{trash}/{','.join(map(str, uids))}",
                  request) as event:  # fmt: skip
        imap.expunge(mailbox, trash, uids)
        cache.after_removal(mailbox, trash, uids)
        event.response = f"{len(uids)} deleted"


def trash_of(mailbox: Mailbox) -> str | None:
    """The Trash folder's name at the operator (special use), or None."""
    return imap.special_folder(mailbox, "\\Trash")


def do_empty_trash(
    person: User, mailbox: Mailbox, trash: str, request: HttpRequest | None = None
) -> int:
    """Delete the Trash's messages for good; returns how many. Audited either way."""
    with _audited(person, "trash.empty", mailbox, trash, request) as event:
        count = imap.expunge_all(mailbox, trash)
        cache.after_emptied(mailbox, trash)
        event.response = f"{count} deleted"
        return count


# An IMAP keyword (RFC 3501 flag-keyword atom): never a system flag, never atom-specials.
KEYWORD_ATOM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def do_set_keyword(
    person: User | None,
    mailbox: Mailbox,
    messages: dict[str, list[int]],
    keyword: str,
    on: bool,
    request: HttpRequest | None = None,
) -> None:
    """Set (or clear) an IMAP keyword on messages, by folder, so other mail clients see it
    (triage labels). One audit event per folder with the server's answer; an unreachable
    or refusing operator is recorded and the remaining folders still tried."""
    if not KEYWORD_ATOM.match(keyword):
        raise BadRequest("not an IMAP keyword")
    for folder, uids in messages.items():
        target = f"{folder}/{','.join(map(str, uids))} {'+' if on else '-'}{keyword}"
        with (
            contextlib.suppress(OperatorUnavailable),
            _audited(person, "message.keyword", mailbox, target, request) as event,
        ):
            imap.set_flag(mailbox, folder, uids, keyword.encode(), on)
            cache.after_keyword(mailbox, folder, uids, keyword, on)
            event.response = "ok"


def do_add_keywords(
    person: User | None,
    mailbox: Mailbox,
    folder: str,
    by_keyword: dict[str, list[int]],
    request: HttpRequest | None = None,
) -> None:
    """Add IMAP keywords to messages of one folder, in one operator session (triage: the
    labels of a conversation on its messages just synced; `person` None: nobody asked, the
    sync did). One audit event with the server's answer; an unreachable operator is
    recorded and leaves the cache as it was (the next label change sets them)."""
    by_keyword = {k: sorted(set(uids)) for k, uids in by_keyword.items() if uids}
    if not by_keyword:
        return
    if not all(KEYWORD_ATOM.match(keyword) for keyword in by_keyword):
        raise BadRequest("not an IMAP keyword")
    target = " ".join(
        f"{folder}/{','.join(map(str, uids))} +{keyword}" for keyword, uids in by_keyword.items()
    )
    with (
        contextlib.suppress(OperatorUnavailable),
        _audited(person, "message.keyword", mailbox, target[:500], request) as event,
    ):
        imap.add_keywords(mailbox, folder, by_keyword)
        for keyword, uids in by_keyword.items():
            cache.after_keyword(mailbox, folder, uids, keyword, True)
        event.response = "ok"
