"""Incremental sync: the operator's IMAP state -> Folder, MessageIndex and MessageText rows.

Per folder (STACK-NOTES §2, RFC 7162):
- QRESYNC when the server offers it and we know the folder: one EXAMINE tells what vanished
  and whose flags changed since our HIGHESTMODSEQ; new mail is UID SEARCH above our highest.
- Otherwise UID SEARCH ALL diffed with the cache, and flags CHANGEDSINCE (CONDSTORE) or all.
- A UIDVALIDITY change drops the folder's rows and rebuilds it.
New messages are indexed in chunks, each committed with its rows, so a long first sync shows
its progress and a crash resumes where it stopped (UIDs are indexed in ascending order). The
folder's new state is saved last, with the flag changes, in one transaction: until then a
rerun asks the server again from the old state.
imapclient 4.x refuses `1:*` sequence sets, so UIDs are always passed explicitly.
"""

from __future__ import annotations

import binascii
import html
import logging
import quopri
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import nh3
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from imapclient.response_parser import parse_fetch_response

from mailboxes import audit, search
from mailboxes.models import AuditEvent, Folder, Mailbox, MessageIndex, MessageText, SyncState
from mailboxes.operator import imap

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from imapclient import IMAPClient

logger = logging.getLogger(__name__)

CHUNK = 500
TEXT_BYTES = 16384  # of the first text part: enough for the preview and for search
COMPAT_PARSER = BytesHeaderParser()  # compat32: headers stay strings, decoded on demand
FIELDS = b"FROM TO CC SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES X-MSS-CODECDA"
HEADERS = b"BODY.PEEK[HEADER.FIELDS (" + FIELDS + b")]"
HEADERS_KEY = b"BODY[HEADER.FIELDS (" + FIELDS + b")]"
FIRST_PASS = [b"FLAGS", b"RFC822.SIZE", b"INTERNALDATE", b"BODYSTRUCTURE", HEADERS]
SYSTEM_FLAGS = {b"\\Seen", b"\\Flagged", b"\\Answered", b"\\Deleted", b"\\Draft", b"\\Recent"}
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
XDM_NAME = "IHE_XDM"


@dataclass
class FolderResult:
    name: str
    added: int = 0
    removed: int = 0
    changed: int = 0
    rebuilt: bool = False
    qresync: bool = False


@dataclass(frozen=True)
class TextPart:
    """Where a message's readable text is, from its BODYSTRUCTURE."""

    section: str
    encoding: str
    charset: str
    html: bool


@dataclass
class Structure:
    text: TextPart | None = None
    attachments: bool = False
    xdm: bool = False


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


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


def _params(value: Any) -> dict[str, str]:
    """(b'NAME', b'x.pdf', b'CHARSET', b'utf-8') -> {"name": "x.pdf", "charset": "utf-8"}."""
    if not isinstance(value, tuple):
        return {}
    pairs = zip(value[::2], value[1::2], strict=False)
    return {_text(key).lower().rstrip("*"): _text(val) for key, val in pairs}


def structure_of(body: Any, section: str = "") -> Structure:
    """Text part, attachment and XDM markers from a BODYSTRUCTURE (RFC 3501 §7.4.2)."""
    found = Structure()
    _walk(body, section, found)
    return found


def _walk(body: Any, section: str, found: Structure) -> None:
    if not isinstance(body, tuple) or not body:
        return
    if isinstance(body[0], list):  # multipart: parts, subtype, extension data
        for number, part in enumerate(body[0], start=1):
            _walk(part, f"{section}.{number}" if section else str(number), found)
        return
    kind, subtype = _text(body[0]).lower(), _text(body[1]).lower()
    params = _params(body[2]) if len(body) > 2 else {}
    encoding = _text(body[5]).lower() if len(body) > 5 else ""
    # Extension data starts after the fields each type has (text: lines; message: 3 more).
    extension = 8 if kind == "text" else 10 if (kind, subtype) == ("message", "rfc822") else 7
    disposition = body[extension + 1] if len(body) > extension + 1 else None
    disposition_type = _text(disposition[0]).lower() if isinstance(disposition, tuple) else ""
    filename = (
        _params(disposition[1]).get("filename", "") if isinstance(disposition, tuple) else ""
    ) or params.get("name", "")
    if XDM_NAME in decoded(filename).upper():
        found.xdm = True
    if disposition_type == "attachment" or (filename and kind != "text"):
        found.attachments = True
        return
    better = found.text is None or (found.text.html and subtype == "plain")
    if kind == "text" and subtype in ("plain", "html") and better:
        charset = params.get("charset", "utf-8")
        found.text = TextPart(section or "1", encoding, charset, subtype == "html")


def body_text(raw: bytes, part: TextPart) -> str:
    """Readable text of a (possibly cut) body part: transfer encoding, charset, HTML off."""
    if part.encoding == "base64":
        compact = b"".join(raw.split())
        raw = binascii.a2b_base64(compact[: len(compact) - len(compact) % 4])
    elif part.encoding == "quoted-printable":
        raw = quopri.decodestring(raw)
    try:
        text = raw.decode(part.charset or "utf-8", "replace")
    except LookupError:
        text = raw.decode("utf-8", "replace")
    if part.html:
        text = html.unescape(nh3.clean(text, tags=set()))
    return text


def preview_of(text: str, length: int = 160) -> str:
    """The first words of the message, quoted lines left out."""
    lines = (line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return " ".join(" ".join(lines).split())[:length]


def thread_root(references: str, in_reply_to: str, message_id: str) -> str:
    """The conversation's first Message-ID: References' first, else In-Reply-To, else own."""
    ids = MESSAGE_ID.findall(references) or MESSAGE_ID.findall(in_reply_to)
    return (ids[0] if ids else message_id)[:250]


def row(folder: Folder, uid: int, data: dict[bytes, Any]) -> tuple[MessageIndex, Structure]:
    # compat32 and decode_header, not policy.default: its header registry costs ~1 ms per
    # message, which alone would cap sync near 600 messages/s (benchmarks/).
    headers = COMPAT_PARSER.parsebytes(data.get(HEADERS_KEY) or b"")
    name, address = parseaddr(headers.get("From", ""))
    date = _date(headers.get("Date", "")) or _aware(data.get(b"INTERNALDATE")) or timezone.now()
    recipients = people([*headers.get_all("To", []), *headers.get_all("Cc", [])])
    structure = structure_of(data.get(b"BODYSTRUCTURE"))
    message_id = str(headers.get("Message-ID", "")).strip()[:250]
    subject = decoded(headers.get("Subject", ""))[:500]
    message = MessageIndex(
        folder=folder,
        uid=uid,
        message_id=message_id,
        thread_key=thread_root(
            str(headers.get("References", "")), str(headers.get("In-Reply-To", "")), message_id
        )
        or f"<{folder.pk}.{uid}@cache>",
        date=date,
        sender_name=decoded(name)[:200],
        sender_address=address[:254],
        recipients=recipients[:5000],
        subject=subject,
        size=int(data.get(b"RFC822.SIZE", 0) or 0),
        has_attachments=structure.attachments,
        has_xdm=structure.xdm or bool(headers.get("X-MSS-CODECDA")),
        **flag_fields(data.get(b"FLAGS", ())),
    )
    return message, structure


def _date(value: str) -> datetime | None:
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return date if date.tzinfo else None


def _aware(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) and value.tzinfo else None


def fetch_new(client: IMAPClient, folder: Folder, uids: list[int]) -> list[MessageIndex]:
    """Index `uids` (ascending), a chunk per transaction, with their text for search."""
    added: list[MessageIndex] = []
    for part in chunks(uids):
        fetched = client.fetch(part, FIRST_PASS)
        built = [row(folder, uid, fetched[uid]) for uid in part if uid in fetched]
        texts = fetch_texts(client, built)
        join_threads(folder.mailbox, [message for message, _ in built])
        with transaction.atomic():
            MessageIndex.objects.bulk_create(
                [message for message, _ in built], ignore_conflicts=True, batch_size=CHUNK
            )
            stored = dict(
                folder.index.filter(uid__in=[m.uid for m, _ in built]).values_list("uid", "pk")
            )
            MessageText.objects.bulk_create(
                [
                    MessageText(message_id=stored[message.uid], body=texts[message.uid])
                    for message, _ in built
                    if message.uid in stored
                ],
                ignore_conflicts=True,
                batch_size=CHUNK,
            )
            SyncState.objects.filter(mailbox=folder.mailbox).update(done=F("done") + len(built))
        added.extend(message for message, _ in built)
    return added


def fetch_texts(client: IMAPClient, built: list[tuple[MessageIndex, Structure]]) -> dict[int, str]:
    """The first TEXT_BYTES of each message's text part, fetched per section (one FETCH per
    distinct section, not per message); sets the previews; returns the searchable text."""
    by_section: dict[str, list[int]] = defaultdict(list)
    for message, structure in built:
        if structure.text:
            by_section[structure.text.section].append(message.uid)
    raw: dict[int, bytes] = {}
    for section, uids in by_section.items():
        item = f"BODY.PEEK[{section}]<0.{TEXT_BYTES}>".encode()
        key = f"BODY[{section}]<0>".encode()
        for uid, data in client.fetch(uids, [item]).items():
            raw[uid] = data.get(key) or b""
    texts = {}
    for message, structure in built:
        body = body_text(raw.get(message.uid, b""), structure.text) if structure.text else ""
        message.preview = preview_of(body)
        texts[message.uid] = search.document(
            message.subject, message.sender_name, message.sender_address, message.recipients, body
        )
    return texts


def join_threads(mailbox: Mailbox, messages: list[MessageIndex]) -> None:
    """A reply whose References start at a message we index under another key (its own
    parent was a reply without References) joins that message's conversation."""
    roots = {m.thread_key for m in messages if m.thread_key != m.message_id}
    if not roots:
        return
    known = dict(
        MessageIndex.objects.filter(folder__mailbox=mailbox, message_id__in=roots)
        .exclude(thread_key="")
        .values_list("message_id", "thread_key")
    )
    for message in messages:
        message.thread_key = known.get(message.thread_key, message.thread_key)


def deleted(rows: QuerySet[MessageIndex]) -> int:
    """Delete rows (their text goes with them); how many messages that was."""
    return rows.delete()[1].get("mailboxes.MessageIndex", 0)


def uid_set(text: str) -> list[int]:
    """'1:3,7' -> [1, 2, 3, 7] (RFC 3501 sequence set of UIDs, no '*')."""
    uids: list[int] = []
    for item in text.split(","):
        if ":" in item:
            low, high = sorted(int(x) for x in item.split(":"))
            uids.extend(range(low, high + 1))
        elif item.strip().isdigit():
            uids.append(int(item))
    return uids


def examine_qresync(client: IMAPClient, folder: Folder) -> tuple[dict, list[int], dict]:
    """EXAMINE with QRESYNC (RFC 7162 §3.2.5): the folder's state, the UIDs vanished since
    our HIGHESTMODSEQ and the flags of messages changed since. imapclient 4.1 has no API for
    it (STACK-NOTES §2): a raw command, and imaplib's untagged responses read directly."""
    untagged = client._imap.untagged_responses
    untagged.clear()
    argument = f"(QRESYNC ({folder.uidvalidity} {folder.highestmodseq}))".encode()
    typ, data = client._raw_command(
        b"EXAMINE", [client._normalise_folder(folder.name), argument], uid=False
    )
    client._checkok("examine", typ, data)
    client._imap.state, client._imap.is_readonly = "SELECTED", True
    vanished: list[int] = []
    for line in untagged.pop("VANISHED", []):
        text = line.decode() if isinstance(line, bytes) else str(line)
        vanished.extend(uid_set(text.replace("(EARLIER)", "").strip()))
    fetch_lines = untagged.pop("FETCH", [])
    changed = parse_fetch_response(fetch_lines, normalise_times=False) if fetch_lines else {}
    state = client._process_select_response(untagged)
    flags = {uid: flag_fields(d.get(b"FLAGS", ())) for uid, d in changed.items()}
    return state, vanished, flags


def sync_folder(client: IMAPClient, folder: Folder, modes: set[str]) -> FolderResult:
    result = FolderResult(folder.name)
    quick = "QRESYNC" in modes and folder.uidvalidity and folder.highestmodseq
    if quick:
        state, vanished, changes = examine_qresync(client, folder)
    else:
        state, vanished, changes = client.select_folder(folder.name, readonly=True), [], {}
    uidvalidity = int(state[b"UIDVALIDITY"])
    modseq = int(state.get(b"HIGHESTMODSEQ", 0) or 0) if "CONDSTORE" in modes else 0
    rebuilt = folder.uidvalidity != uidvalidity
    if rebuilt:
        quick = False
        with transaction.atomic():
            result.rebuilt = bool(folder.uidvalidity)
            result.removed = deleted(folder.index.all())
            folder.uidvalidity, folder.highestmodseq = uidvalidity, 0
            folder.save(update_fields=["uidvalidity", "highestmodseq"])
    result.qresync = bool(quick)
    if quick:
        highest = folder.index.aggregate(top=Max("uid"))["top"] or 0
        new = sorted(uid for uid in client.search(["UID", f"{highest + 1}:*"]) if uid > highest)
        result.removed += deleted(folder.index.filter(uid__in=vanished))
        # Messages above `highest` are fetched whole below, with fresher flags.
        changes = {uid: fields for uid, fields in changes.items() if uid <= highest}
    else:
        server_uids = set(client.search(["ALL"]))
        known = set(folder.index.values_list("uid", flat=True))
        new = sorted(server_uids - known)
        result.removed += deleted(folder.index.filter(uid__in=known - server_uids))
        changes = flag_changes(client, folder, sorted(known & server_uids), modseq)
    if new:
        SyncState.objects.filter(mailbox=folder.mailbox).update(total=F("total") + len(new))
    result.added = len(fetch_new(client, folder, new))
    with transaction.atomic():
        for uid, fields in changes.items():
            result.changed += folder.index.filter(uid=uid).update(**fields)
        folder.uidvalidity, folder.uidnext = uidvalidity, int(state.get(b"UIDNEXT", 0) or 0)
        folder.highestmodseq = modseq
        folder.messages = int(state.get(b"EXISTS", 0) or 0)
        if result.added or result.removed or result.changed or rebuilt:
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


def sync_mailbox(mailbox: Mailbox, use_qresync: bool = True) -> list[FolderResult]:
    """Bring every selectable folder of the mailbox up to date, in one IMAP session.
    Progress and the outcome are kept in the mailbox's SyncState for the pages."""
    results = []
    SyncState.objects.update_or_create(
        mailbox=mailbox, defaults={"started_at": timezone.now(), "done": 0, "total": 0}
    )
    try:
        with imap.imap_session(mailbox) as client:
            client.normalise_times = False  # INTERNALDATE with its zone
            modes = {c.decode() for c in client.capabilities()} & {"CONDSTORE", "QRESYNC"}
            if not use_qresync:
                modes.discard("QRESYNC")
            if modes:
                client.enable(*sorted(modes))
            seen_names = []
            for flags, _, name in client.list_folders():
                if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                    continue
                folder, _ = Folder.objects.get_or_create(mailbox=mailbox, name=str(name))
                folder.special_use = imap.special_use(flags)  # saved with the folder's state
                seen_names.append(folder.name)
                results.append(sync_folder(client, folder, modes))
    except Exception as exc:
        SyncState.objects.filter(mailbox=mailbox).update(
            error=str(exc)[:200], error_at=timezone.now()
        )
        audit.record(
            None,
            "mailbox.sync",
            mailbox=mailbox,
            outcome=AuditEvent.Outcome.ERROR,
            response=str(exc),
        )
        raise
    Folder.objects.filter(mailbox=mailbox).exclude(name__in=seen_names).delete()
    SyncState.objects.filter(mailbox=mailbox).update(finished_at=timezone.now(), error="")
    return results
