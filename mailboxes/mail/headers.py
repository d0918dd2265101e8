"""Every rule about addresses, dates and message identifiers in headers, in one place.

Received headers are read leniently (a message is never refused for an odd header: what can be
read is kept); what we write is checked strictly (a recipient that is not an address is an
error for the person to fix). Names are shown decoded and are never re-encoded on the way to a
page or a form (RFC 2047 encoding belongs to the headers we write, and the email package does
it when the message is built).

`addresses` is the list parser behind the cache, the reader and the composer: a regular
expression reads the plain forms (``Name <a@b>``, ``a@b``) in a few microseconds, the email
package's parser reads anything quoted, commented or grouped. tests/mailboxes/test_headers.py
holds it to the email package's own header parser (policy.default) on a corpus of odd headers.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parsedate_to_datetime

from django.utils import timezone

from mailboxes.mail import charsets

# (name, address) as the person reads them: RFC 2047 decoded, whitespace collapsed.
Pair = tuple[str, str]

# Plain forms only: no quotes, comments, groups, escapes or route (those go to the parser).
PLAIN_ADDRESS = re.compile(
    r"(?:([^<>@\"()\\\[\];:,]*?)\s*<([^<>\s@\"()\\,;:]+@[^<>\s@\"()\\,;:]+)>"
    r"|([^<>\s@\"()\\,;:]+@[^<>\s@\"()\\,;:]+))"
)
NEEDS_PARSER = frozenset('"()\\[];:')
# Characters that make a display name need quotes when it is written back (RFC 5322 specials).
SPECIALS = re.compile(r"[()<>\[\]:;@\\,.\"]")

# Every character str.splitlines() breaks on (CR, LF, VT, FF, FS, GS, RS, NEL, U+2028,
# U+2029), and the other control characters: the email package refuses them in a header.
BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+")
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# RFC 5322 3.6.4 msg-id, "<" id-left "@" id-right ">", each side printable ASCII without
# "<", ">", "@" or spaces: what we write into In-Reply-To and References.
MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f\x41-\x7e]+@[\x21-\x3b\x3d\x3f\x41-\x7e]+>")
# What we accept when threading received mail: any bracketed token (obsolete forms included).
ANY_MSG_ID = re.compile(r"<[^<>\s]+>")
# A patient's MSSanté address (PAT1): the local part is the patient's INS, which never
# reaches a log or an audit row.
PATIENT_ADDRESS = re.compile(r"[^\s<>;,:\"'()]+@(patient\.mssante\.fr)\b", re.IGNORECASE)


# -- Reading -------------------------------------------------------------------------------


def decoded(value: str | None) -> str:
    """RFC 2047 encoded words decoded; the raw text when a charset is unknown or broken.
    Never a NUL (PostgreSQL refuses it in text, and it means nothing to a reader)."""
    if not value:
        return ""
    if "=?" not in value:  # nothing encoded (most names, many subjects)
        return value.replace("\x00", "")
    try:
        text = "".join(_text(part, charset) for part, charset in decode_header(value))
    except (UnicodeError, ValueError, HeaderParseError):
        text = value
    return text.replace("\x00", "")


def field(msg: Message, name: str) -> str:
    """A header of a parsed message as text, never an exception: the email package's reading
    (decoded, unfolded), or, where its parser raises (it does on "To: a@", and again on every
    later read of that header), the raw value decoded here."""
    try:
        return str(msg.get(name, "") or "").replace("\x00", "")
    except (ValueError, TypeError, LookupError, IndexError, AttributeError):
        pass
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return decoded(" ".join(text.split()))
    return ""


def _text(part: str | bytes, charset: str | None) -> str:
    if isinstance(part, str):
        return part
    if charset is None:  # text around encoded words: decode_header gives it back this way
        return part.decode("raw-unicode-escape")
    try:  # ISO-8859-1 read as Windows-1252, as browsers do (charsets)
        return charsets.decode(part, charset)
    except LookupError:  # an unknown charset: what is ASCII in it is still readable
        return part.decode("ascii", "replace")


def addresses(values: list[str]) -> list[Pair]:
    """The (name, address) pairs of one or more address headers, names decoded. Whatever is
    not an address (a group's name, a lone word) gives no pair; nothing raises."""
    pairs: list[Pair] = []
    for value in values:
        if any(c in NEEDS_PARSER for c in value):
            pairs.extend(_parsed(value))
            continue
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if match := PLAIN_ADDRESS.fullmatch(item):
                name, bracketed, bare = match.groups()
                if not CONTROLS.search(bracketed or bare):
                    pairs.append((_name(name or ""), bracketed or bare))
            else:
                pairs.extend(_parsed(item))
    return pairs


def _parsed(value: str) -> list[Pair]:
    """The email package's header parser (policy.default), groups flattened; its older
    `getaddresses` where that parser gives up (it raises on a few inputs, "a@" one of them)."""
    try:
        found = [
            (a.display_name, a.addr_spec)
            for a in default_policy.header_factory("To", value).addresses
        ]
    except (HeaderParseError, IndexError, ValueError, TypeError, AttributeError):
        found = getaddresses([value])
    return [(_name(name), address) for name, address in found if _looks_like_address(address)]


def _looks_like_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    if CONTROLS.search(address):  # not even quoted (a NUL, a line break: found by fuzzing)
        return False
    if local.startswith('"') and local.endswith('"') and len(local) > 1:
        local = "x"  # a quoted local part may hold spaces (RFC 5322 3.4.1)
    return bool(at and local and domain) and not any(c.isspace() for c in local + domain)


def _name(name: str) -> str:
    return " ".join(decoded(name).split())


def first_address(value: str) -> str:
    """The first address of a header (From, Return-Path, Disposition-Notification-To),
    lower-cased; "" when there is none."""
    found = addresses([value])
    return found[0][1].lower() if found else ""


def display(pair: Pair) -> str:
    """``Name <address>`` as a person reads and types it: the name as it is (accents kept, never
    RFC 2047 encoded), quoted when it holds a comma or another special, so that the text
    parses back to the same pair (a reply-all's Cc is this text)."""
    name, address = pair
    if not name:
        return address
    if SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def people(values: list[str]) -> list[str]:
    """The addresses of header values, each as `display` writes it."""
    return [display(pair) for pair in addresses(values)]


def parse_date(value: str | None) -> datetime | None:
    """A Date header as an aware datetime; None when it is missing, malformed or has no zone
    (RFC 5322 "-0000" included: a time whose zone is unknown cannot be placed)."""
    if not value:
        return None
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return date if date.tzinfo else None


def message_ids(value: str, *, strict: bool = True) -> list[str]:
    """The <msg-id> tokens of an In-Reply-To or References value. Strict (what we write): only
    well-formed ones, the rest (text, line breaks, a header smuggled after one) dropped.
    Lenient (threading received mail): any bracketed token."""
    return (MSG_ID if strict else ANY_MSG_ID).findall(value)


def redacted(text: str) -> str:
    """Text safe for a log or an audit row: patients' addresses (their INS) masked."""
    return PATIENT_ADDRESS.sub(r"***@\1", text)


# -- Writing -------------------------------------------------------------------------------


def recipients(value: str) -> list[str]:
    """What the person typed in À/Cc/Cci -> the addresses, lower-cased. Raises ValueError
    naming the first item that is not an address (checked strictly: one @, no space)."""
    found = []
    for _, address in getaddresses([value]):
        if address.count("@") != 1 or " " in address or address.startswith("@"):
            raise ValueError(address or value)
        found.append(address.lower())
    return found


def lenient_recipients(value: str) -> list[str]:
    """The addresses of a draft: those that parse are kept, a draft may be unfinished."""
    return [a.lower() for _, a in getaddresses([value]) if a.count("@") == 1]


def one_line(value: str) -> str:
    """A header's text on one line: line breaks become spaces (a received subject may
    carry any of them, encoded, and a reply quotes it)."""
    return BREAKS.sub(" ", value).strip()


def for_header(name: str, address: str) -> str:
    """A From/Sender value: the email package encodes the name when the message is built."""
    return formataddr((one_line(name), address))


def date_now() -> str:
    """A Date header for now (RFC 5322, the server's zone)."""
    return format_datetime(timezone.now())


def new_message_id(address: str) -> str:
    """A fresh Message-ID in the domain of the mailbox that sends."""
    return make_msgid(domain=address.rsplit("@", 1)[1])


def quoted_date(date: datetime | None) -> str:
    """A date in a reply's attribution or a forward's header block: the person's local time,
    as the page shows it (never UTC nor the sender's zone)."""
    return timezone.localtime(date).strftime("%d/%m/%Y %H:%M") if date else ""
