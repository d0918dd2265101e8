"""What the cache keeps of one message, built from what IMAP sent: header fields, the
BODYSTRUCTURE (text part, attachments, IHE XDM), the start of the text (preview, search).

No I/O here: mailboxes.mailcache.sync fetches FIRST_PASS and the text parts, then calls `row` and
`index_texts`. Speed matters (it runs 100,000 times for a big first sync): header fields
are split by a regular expression and plain addresses parsed without the email package,
which stays the fallback for anything unusual.
"""

from __future__ import annotations

import binascii
import html
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3
from django.utils import timezone

from mailboxes.mail import charsets
from mailboxes.mail.headers import addresses, decoded, message_ids, parse_date, people
from mailboxes.mailcache import collation, search
from mailboxes.models import Folder, MessageIndex

TEXT_BYTES = 16384  # of the first text part: enough for the preview and for search
FOLDED_LINE = re.compile(r"\r?\n(?![ \t])")  # a line break that does not continue a field
# X-MSS-CODECDA marks health documents, X-MSS-MES: FIN a patient's reply closed (HDR-IN);
# X-MSS-INS is only shown by the reader, which has the whole message.
FIELDS = b"FROM TO CC SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES X-MSS-CODECDA X-MSS-MES"
HEADERS = b"BODY.PEEK[HEADER.FIELDS (" + FIELDS + b")]"
HEADERS_KEY = b"BODY[HEADER.FIELDS (" + FIELDS + b")]"
FIRST_PASS = [b"FLAGS", b"RFC822.SIZE", b"INTERNALDATE", b"BODYSTRUCTURE", HEADERS]
SYSTEM_FLAGS = {b"\\Seen", b"\\Flagged", b"\\Answered", b"\\Deleted", b"\\Draft", b"\\Recent"}
XDM_NAME = "IHE_XDM"


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


def flag_fields(flags: Iterable[bytes]) -> dict[str, Any]:
    flags = set(flags)
    return {
        "seen": b"\\Seen" in flags,
        "flagged": b"\\Flagged" in flags,
        "answered": b"\\Answered" in flags,
        "keywords": sorted(f.decode("utf-8", "replace") for f in flags - SYSTEM_FLAGS),
    }


def fields_of(raw: bytes) -> dict[str, list[str]]:
    """The fetched header fields by lower-case name, unfolded. Raw 8-bit text is read as
    UTF-8 (RFC 6532). A few microseconds where the email package's parser takes fifteen."""
    fields: dict[str, list[str]] = {}
    for line in FOLDED_LINE.split(raw.decode("utf-8", "replace").replace("\x00", "")):
        name, colon, value = line.partition(":")
        if colon and name and not name[0].isspace():
            fields.setdefault(name.strip().lower(), []).append(" ".join(value.split()))
    return fields


def first(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name)
    return values[0] if values else ""


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
        text = charsets.decode(raw, part.charset or "utf-8")
    except LookupError:
        text = raw.decode("utf-8", "replace")
    if part.html:
        text = html.unescape(nh3.clean(text, tags=set()))
    return text.replace("\x00", "")  # PostgreSQL refuses NUL in text


def preview_of(text: str, length: int = 160) -> str:
    """The first words of the message, quoted lines left out."""
    lines = (line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return " ".join(" ".join(lines).split())[:length]


def thread_root(references: str, in_reply_to: str, message_id: str) -> str:
    """The conversation's first Message-ID: References' first, else In-Reply-To, else own."""
    ids = message_ids(references, strict=False) or message_ids(in_reply_to, strict=False)
    return (ids[0] if ids else message_id)[:250]


def row(
    folder: Folder, uid: int, data: dict[bytes, Any], structure: Structure | None = None
) -> tuple[MessageIndex, Structure]:
    # Our own field split and decode_header, not the email package's parsers: with
    # policy.default its header registry costs ~1 ms a message (sync capped near 600/s).
    headers = fields_of(data.get(HEADERS_KEY) or b"")
    [(name, address), *_] = addresses([first(headers, "from")]) or [("", "")]
    date = parse_date(first(headers, "date")) or _aware(data.get(b"INTERNALDATE")) or timezone.now()
    recipients = ", ".join(people([*headers.get("to", []), *headers.get("cc", [])]))
    structure = structure or structure_of(data.get(b"BODYSTRUCTURE"))
    message_id = first(headers, "message-id")[:250]
    subject = decoded(first(headers, "subject"))[:500]
    message = MessageIndex(
        folder=folder,
        uid=uid,
        message_id=message_id,
        thread_key=thread_root(
            first(headers, "references"), first(headers, "in-reply-to"), message_id
        )
        or f"<{folder.pk}.{uid}@cache>",
        date=date,
        sender_name=(sender_name := name[:200]),
        sender_address=address[:254],
        sort_sender=collation.sender_key(sender_name, address),
        sort_subject=collation.subject_key(subject),
        recipients=recipients[:5000],
        subject=subject,
        size=int(data.get(b"RFC822.SIZE", 0) or 0),
        has_attachments=structure.attachments,
        has_xdm=structure.xdm or bool(first(headers, "x-mss-codecda")),
        reply_closed=first(headers, "x-mss-mes").strip().upper() == "FIN",
        **flag_fields(data.get(b"FLAGS", ())),
    )
    return message, structure


def _aware(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) and value.tzinfo else None


def index_texts(
    built: list[tuple[MessageIndex, Structure]], raw: dict[int, bytes]
) -> dict[int, str]:
    """Sets each message's preview; returns its searchable text."""
    texts = {}
    for message, structure in built:
        body = body_text(raw.get(message.uid, b""), structure.text) if structure.text else ""
        message.preview = preview_of(body)
        texts[message.uid] = search.document(
            message.subject, message.sender_name, message.sender_address, message.recipients, body
        )
    return texts
