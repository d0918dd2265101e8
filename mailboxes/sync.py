"""Incremental sync: the operator's IMAP state -> Folder and MessageIndex rows.

Per folder (STACK-NOTES §2): a UIDVALIDITY change drops the folder's rows and rebuilds;
vanished UIDs are deleted before anything else; flag changes come from CONDSTORE
(`CHANGEDSINCE` the stored HIGHESTMODSEQ) when the server offers it, else from all flags;
new UIDs are fetched in chunks. The new state is saved with the rows, in one transaction.
imapclient 4.x refuses `1:*` sequence sets, so UIDs are always passed explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from mailboxes.models import Folder, Mailbox, MessageIndex
from mailboxes.operator import imap

if TYPE_CHECKING:
    from imapclient import IMAPClient

CHUNK = 500
COMPAT_PARSER = BytesHeaderParser()  # compat32: headers stay strings, decoded on demand
HEADERS = b"BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)]"
HEADERS_KEY = b"BODY[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)]"
SYSTEM_FLAGS = {b"\\Seen", b"\\Flagged", b"\\Answered", b"\\Deleted", b"\\Draft", b"\\Recent"}


@dataclass
class FolderResult:
    name: str
    added: int = 0
    removed: int = 0
    changed: int = 0
    rebuilt: bool = False


def chunks(items: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def flag_fields(flags: Iterable[bytes]) -> dict[str, Any]:
    flags = set(flags)
    return {
        "seen": b"\\Seen" in flags,
        "flagged": b"\\Flagged" in flags,
        "answered": b"\\Answered" in flags,
        "keywords": sorted(f.decode("utf-8", "replace") for f in flags - SYSTEM_FLAGS),
    }


def decoded(value: str | None) -> str:
    """RFC 2047 encoded words decoded; the raw text when a charset is unknown or broken."""
    if not value:
        return ""
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError, HeaderParseError):
        return value


def people(values: list[str]) -> str:
    """Readable "Name <address>" list for the cache (formataddr would re-encode names)."""
    pairs = getaddresses(values)
    return ", ".join(
        f"{decoded(name)} <{address}>" if name else address for name, address in pairs if address
    )


def row(folder: Folder, uid: int, data: dict[bytes, Any]) -> MessageIndex:
    # compat32 and decode_header, not policy.default: its header registry costs ~1 ms per
    # message, which alone would cap sync near 600 messages/s (benchmarks/).
    headers = COMPAT_PARSER.parsebytes(data.get(HEADERS_KEY) or b"")
    name, address = parseaddr(headers.get("From", ""))
    try:
        date = parsedate_to_datetime(headers.get("Date", ""))
    except (TypeError, ValueError, IndexError):
        date = None
    recipients = people([*headers.get_all("To", []), *headers.get_all("Cc", [])])
    content_type = str(headers.get("Content-Type", "")).lower()
    return MessageIndex(
        folder=folder,
        uid=uid,
        message_id=str(headers.get("Message-ID", "")).strip()[:250],
        date=date if date is not None and date.tzinfo else None,
        sender_name=decoded(name)[:200],
        sender_address=address[:254],
        recipients=recipients[:5000],
        subject=decoded(headers.get("Subject", ""))[:500],
        size=int(data.get(b"RFC822.SIZE", 0) or 0),
        has_attachments=content_type.startswith(("multipart/mixed", "multipart/report")),
        **flag_fields(data.get(b"FLAGS", ())),
    )


def sync_folder(client: IMAPClient, folder: Folder, condstore: bool) -> FolderResult:
    result = FolderResult(folder.name)
    state = client.select_folder(folder.name, readonly=True)
    uidvalidity = int(state[b"UIDVALIDITY"])
    modseq = int(state.get(b"HIGHESTMODSEQ", 0) or 0) if condstore else 0
    server_uids = set(client.search(["ALL"]))
    rebuilt = folder.uidvalidity != uidvalidity
    known = set() if rebuilt else set(folder.index.values_list("uid", flat=True))
    new = sorted(server_uids - known)
    fetched: dict[int, dict[bytes, Any]] = {}
    for part in chunks(new):
        fetched |= client.fetch(part, [b"FLAGS", b"RFC822.SIZE", HEADERS])
    changes = flag_changes(client, folder, sorted(known & server_uids), modseq)
    with transaction.atomic():
        if rebuilt:
            result.rebuilt = bool(folder.uidvalidity)
            result.removed = folder.index.all().delete()[0]
        else:
            result.removed = folder.index.filter(uid__in=known - server_uids).delete()[0]
        rows = [row(folder, uid, data) for uid, data in fetched.items() if uid in server_uids]
        MessageIndex.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CHUNK)
        result.added = len(rows)
        for uid, fields in changes.items():
            result.changed += folder.index.filter(uid=uid).update(**fields)
        folder.uidvalidity, folder.uidnext = uidvalidity, int(state.get(b"UIDNEXT", 0) or 0)
        folder.highestmodseq = modseq
        folder.messages = len(server_uids)
        folder.unseen = folder.index.filter(seen=False).count()
        folder.synced_at = timezone.now()
        folder.save()
    return result


def flag_changes(
    client: IMAPClient, folder: Folder, uids: list[int], modseq: int
) -> dict[int, dict[str, Any]]:
    """New flags of known messages: only those changed since the stored HIGHESTMODSEQ when
    the server has CONDSTORE (RFC 7162), else all of them compared with ours."""
    if not uids or (modseq and modseq == folder.highestmodseq):
        return {}
    modifiers = (
        [f"CHANGEDSINCE {folder.highestmodseq}"] if modseq and folder.highestmodseq else None
    )
    changes = {}
    for part in chunks(uids, 5000):
        for uid, data in client.fetch(part, [b"FLAGS"], modifiers=modifiers).items():
            changes[uid] = flag_fields(data.get(b"FLAGS", ()))
    return changes


def sync_mailbox(mailbox: Mailbox) -> list[FolderResult]:
    """Bring every selectable folder of the mailbox up to date, in one IMAP session."""
    results = []
    with imap.imap_session(mailbox) as client:
        condstore = b"CONDSTORE" in client.capabilities()
        if condstore:
            client.enable("CONDSTORE")
        seen_names = []
        for flags, _, name in client.list_folders():
            if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                continue
            folder, _ = Folder.objects.get_or_create(mailbox=mailbox, name=str(name))
            folder.special_use = imap.special_use(flags)  # saved with the folder's state
            seen_names.append(folder.name)
            results.append(sync_folder(client, folder, condstore))
    Folder.objects.filter(mailbox=mailbox).exclude(name__in=seen_names).delete()
    return results
