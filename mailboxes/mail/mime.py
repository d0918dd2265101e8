"""Received MIME -> what the reader shows. Standard `email` package, policy.default.

Malformed mail never raises out of here: a part that cannot be decoded is shown as such, a
message nested too deeply to walk is shown from its headers alone (`too_deep`).
`message` is the one place raw bytes are parsed: parse once per request, keep the result.
"""

from __future__ import annotations

import email
import html
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from typing import Any

import nh3

from mailboxes.mail import charsets
from mailboxes.mail import headers as header_rules
from mailboxes.mail.headers import parse_date, people

# Multipart (and message/rfc822) levels we walk. Real mail stays under ten; the email
# package's parser, walk(), get_body() and generator all recurse, so a hostile message
# thousands of levels deep would raise RecursionError wherever it is touched.
MAX_DEPTH = 50


class TooDeep(ValueError):
    """The message is nested deeper than MAX_DEPTH: only its headers can be read."""


# Headers that carry the MIME structure. The email package reads them on every part, many
# times (parsing, walk, get_body, filenames), and policy.default parses each read anew
# through its header registry (~100 µs): seconds for a 10,000-part message. Its own
# str-based methods (get_content_type, get_param, get_filename...) need only the text.
STRUCTURE_HEADERS = frozenset(
    {"content-type", "content-disposition", "content-transfer-encoding", "content-id"}
)
LINE_BREAKS = re.compile(r"\r\n|\r|\n")
C1 = re.compile("[\x80-\x9f]")
LATIN1_WORD = re.compile(
    r"=\?(?:" + "|".join(re.escape(label) for label in charsets.WINDOWS_1252_LABELS) + r")\?",
    re.IGNORECASE,
)
# RFC 2046 §5.2.1: a whole message as one part. The email package makes it a container
# (its payload is the inner message), so it needs saying apart from multipart/*.
ATTACHED_MESSAGE = "message/rfc822"


class ReceivedMessage(EmailMessage):
    """A received part whose structure headers are plain text (see _Policy)."""

    def is_attachment(self) -> bool:  # the one EmailMessage method that wanted the object
        return self.get_content_disposition() == "attachment"


class _Policy(EmailPolicy):
    """policy.default, except that structure headers are read as plain text."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or name.lower() not in STRUCTURE_HEADERS:
            return super().header_fetch_parse(name, value)
        value = LINE_BREAKS.sub("", value)
        # Raw 8-bit bytes (surrogate escapes) read as UTF-8, as the header registry does.
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


POLICY = _Policy(message_factory=ReceivedMessage)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    index: int = -1  # the part's position in walk order: what part URLs name

    @property
    def is_message(self) -> bool:
        """A message attached whole (a forward as attachment): it can be opened."""
        return self.content_type == ATTACHED_MESSAGE


@dataclass(frozen=True)
class Part:
    """A leaf part: what the reader links to, inlines (cid:) or downloads."""

    index: int
    content_type: str
    filename: str
    content_id: str
    payload: bytes


@dataclass(frozen=True)
class ParsedMessage:
    subject: str
    from_: str
    sender: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    message_id: str
    text: str
    text_from_html: bool
    attachments: list[Attachment] = field(default_factory=list)
    html_index: int | None = None  # the HTML body part, when the message has one
    disposition_notification_to: str = ""
    return_path: str = ""
    too_deep: bool = False  # nested beyond MAX_DEPTH: headers only, offer the download
    msg: EmailMessage = field(default_factory=ReceivedMessage, repr=False, compare=False)


def header(msg: Message, name: str) -> str:
    """The decoded header, or its raw text when the email package cannot read it. C1
    controls from an ISO-8859-1 word (really Windows-1252) are read as Windows-1252; in a
    UTF-8 word they stay what they are (U+0085 is a line break, not "…")."""
    text = header_rules.field(msg, name)
    if C1.search(text) and any(
        LATIN1_WORD.search(str(value))
        for key, value in msg.raw_items()
        if key.lower() == name.lower()
    ):
        return charsets.without_c1(text)
    return text


def addresses(msg: Message, name: str) -> list[str]:
    """The header's addresses as people read them: names decoded, never re-encoded."""
    value = header(msg, name)
    return people([value]) if value else []


def part_text(part: Message) -> str:
    """A text part decoded with its declared charset, falling back to replacement characters;
    ISO-8859-1 and US-ASCII read as Windows-1252, as browsers do (mailboxes.mail.charsets)."""
    if charsets.is_windows_1252(part.get_content_charset()):
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return charsets.decode(payload, "windows-1252")
    try:
        return part.get_content()  # type: ignore[attr-defined, no-any-return]
    except (LookupError, UnicodeDecodeError, AssertionError, KeyError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")  # type: ignore[union-attr]


def html_to_text(markup: str) -> str:
    """A readable plain-text rendering of an HTML body: no tag, no script, no style survives."""
    for block in ("</p>", "<br>", "<br/>", "<br />", "</div>", "</tr>", "</h1>", "</h2>", "</li>"):
        markup = markup.replace(block, block + "\n")
    stripped = nh3.clean(markup, tags=set(), clean_content_tags={"script", "style", "head"})
    lines = (line.strip() for line in html.unescape(stripped).splitlines())
    return "\n".join(line for line in lines if line).strip()


def body_of(msg: EmailMessage, kinds: tuple[str, ...]) -> EmailMessage | None:
    """The email package's choice of body, or None where its walk breaks: a multipart whose
    boundary never opens holds text, not parts, and get_body then raises AttributeError
    (found by tests/mailboxes/test_fuzz_mail.py; the reader answered 500)."""
    try:
        body = msg.get_body(preferencelist=kinds)
    except (KeyError, LookupError, ValueError, AttributeError, TypeError):
        return None
    return body if isinstance(body, EmailMessage) else None


def body_text(msg: EmailMessage) -> tuple[str, bool]:
    """The plain-text body (or the HTML one made text), and whether it came from HTML."""
    body = body_of(msg, ("plain", "html"))
    if body is None:
        return "", False
    text = part_text(body)
    if body.get_content_subtype() == "html":
        return html_to_text(text), True
    return text, False


def leaves(msg: Message) -> list[Message]:
    """Every part in walk order (containers included, so indexes match `part_at`)."""
    try:
        return list(msg.walk())
    except (RecursionError, ValueError):
        return [msg]


def _filename(part: Message) -> str:
    """The part's name: RFC 2231 (get_filename) or RFC 2047 words, as mail clients send."""
    try:
        name = part.get_filename() or ""
        return str(make_header(decode_header(name))) if "=?" in name else name
    except (ValueError, LookupError, TypeError, HeaderParseError):
        return ""


def part_at(msg: EmailMessage, index: int) -> Part | None:
    """The leaf part at `index` (walk order), decoded; an attached message (message/rfc822)
    as its .eml bytes; None for other containers or out of range."""
    parts = leaves(msg)
    if not 0 <= index < len(parts):
        return None
    part = parts[index]
    if part.get_content_type() == ATTACHED_MESSAGE:
        payload: object = _message_bytes(part)
    elif part.is_multipart():
        return None
    else:
        payload = part.get_payload(decode=True)
    return Part(
        index=index,
        content_type=part.get_content_type(),
        filename=_filename(part),
        content_id=header(part, "Content-ID").strip().strip("<>"),
        payload=payload if isinstance(payload, bytes) else b"",
    )


# Written back as received: no refolding, CRLF as on the wire.
_AS_RECEIVED = POLICY.clone(refold_source="none", linesep="\r\n")


def _inner(part: Message) -> Message | None:
    """The message inside a message/rfc822 part (None when the part is malformed)."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    return inner if isinstance(inner, Message) else None


def _message_bytes(part: Message) -> bytes:
    inner = _inner(part)
    if inner is None:
        return b""
    try:
        return inner.as_bytes(policy=_AS_RECEIVED)
    except (ValueError, LookupError, TypeError, RecursionError):
        return b""


def part_text_of(msg: EmailMessage, index: int) -> str:
    parts = leaves(msg)
    if not 0 <= index < len(parts) or parts[index].is_multipart():
        return ""
    return part_text(parts[index])


def content_ids(msg: EmailMessage) -> dict[str, int]:
    """cid -> part index, for rewriting inline images."""
    found = {}
    for index, part in enumerate(leaves(msg)):
        cid = header(part, "Content-ID").strip().strip("<>")
        if cid and not part.is_multipart():
            found[cid] = index
    return found


def attachments(msg: EmailMessage) -> list[Attachment]:
    """Parts a person would call attachments: named, or not the text/HTML body. A message
    attached whole (message/rfc822) is one attachment; its own parts belong to it."""
    found = []
    body = _body_parts(msg)
    parts = leaves(msg)
    inside = _inside_attached_messages(parts)
    for index, part in enumerate(parts):
        if id(part) in inside:
            continue
        if part.get_content_type() == ATTACHED_MESSAGE:
            found.append(_attached_message(part, index))
            continue
        if part.is_multipart() or id(part) in body:
            continue
        disposition = part.get_content_disposition()
        name = _filename(part)
        if disposition != "attachment" and not name and part.get_content_maintype() == "text":
            continue
        if disposition == "inline" and header(part, "Content-ID") and not name:
            continue  # an inline image of the HTML body, shown there
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                filename=name,
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
                index=index,
            )
        )
    return found


def _inside_attached_messages(parts: list[Message]) -> set[int]:
    """The parts nested in an attached message (ids), whatever their depth."""
    inside: set[int] = set()
    for part in parts:
        if part.get_content_type() == ATTACHED_MESSAGE and id(part) not in inside:
            inside.update(id(child) for child in leaves(part)[1:])
    return inside


def _attached_message(part: Message, index: int) -> Attachment:
    inner = _inner(part)
    name = _filename(part)
    if not name:
        subject = header(inner, "Subject") if inner is not None else ""
        name = (_UNSAFE_IN_NAME.sub("_", subject).strip(" ._")[:80] or "message") + ".eml"
    return Attachment(
        filename=name,
        content_type=ATTACHED_MESSAGE,
        size=len(_message_bytes(part)),
        index=index,
    )


# What a file name may not carry (paths, controls, characters Windows refuses).
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def attached(msg: EmailMessage, index: int) -> ParsedMessage | None:
    """The message attached at `index` (message/rfc822), as the reader shows it. Its parts
    keep the outer message's numbering (walk order: the part, then the inner message at
    index + 1, then its own parts), so the same part URLs serve them."""
    parts = leaves(msg)
    if not 0 <= index < len(parts) or parts[index].get_content_type() != ATTACHED_MESSAGE:
        return None
    inner = _inner(parts[index])
    if not isinstance(inner, EmailMessage):
        return None
    shown = _parsed(inner, too_deep=False)
    offset = index + 1
    return replace(
        shown,
        attachments=[replace(a, index=a.index + offset) for a in shown.attachments],
        html_index=None if shown.html_index is None else shown.html_index + offset,
        msg=msg,
    )


def _body_parts(msg: EmailMessage) -> set[int]:
    ids = set()
    for kind in ("plain", "html"):
        if (body := body_of(msg, (kind,))) is not None:
            ids.add(id(body))
    return ids


def html_index(msg: EmailMessage) -> int | None:
    body = body_of(msg, ("html",))
    if body is None:
        return None
    return next((i for i, part in enumerate(leaves(msg)) if part is body), None)


def depth(msg: Message) -> int:
    """How many container levels deep the message goes, counted without recursion."""
    deepest, stack = 0, [(msg, 0)]
    while stack:
        part, level = stack.pop()
        deepest = max(deepest, level)
        payload = part.get_payload()
        if isinstance(payload, list) and level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in payload if isinstance(child, Message))
    return deepest


def message(raw: bytes) -> EmailMessage:
    """The parsed message; TooDeep when it nests beyond MAX_DEPTH (whether the parser ran
    out of stack on the way or the tree was built and is simply too deep to walk)."""
    try:
        msg = email.message_from_bytes(raw, policy=POLICY)
    except RecursionError as exc:
        raise TooDeep from exc
    if depth(msg) > MAX_DEPTH:
        raise TooDeep
    assert isinstance(msg, EmailMessage)  # noqa: S101 - an EmailPolicy guarantees it
    return msg


def headers_only(raw: bytes) -> EmailMessage:
    """The header block alone (no recursion at all), for a message too deep to parse."""
    msg = BytesHeaderParser(policy=POLICY).parsebytes(raw)
    assert isinstance(msg, EmailMessage)  # noqa: S101 - an EmailPolicy guarantees it
    return msg


def parse(raw: bytes) -> ParsedMessage:
    """What the reader shows. The parsed message rides along (`msg`): use it, do not parse
    `raw` again. A message too deep to walk gives its headers and `too_deep`."""
    try:
        return _parsed(message(raw), too_deep=False)
    except TooDeep:
        return _parsed(headers_only(raw), too_deep=True)


def _parsed(msg: EmailMessage, *, too_deep: bool) -> ParsedMessage:
    text, from_html = ("", False) if too_deep else body_text(msg)
    date = parse_date(header(msg, "Date"))
    return ParsedMessage(
        subject=header(msg, "Subject"),
        from_=header(msg, "From"),
        sender=header(msg, "Sender"),
        to=addresses(msg, "To"),
        cc=addresses(msg, "Cc"),
        date=date,
        message_id=header(msg, "Message-ID"),
        text=text,
        text_from_html=from_html,
        attachments=[] if too_deep else attachments(msg),
        html_index=None if too_deep else html_index(msg),
        disposition_notification_to=header(msg, "Disposition-Notification-To"),
        return_path=header(msg, "Return-Path"),
        too_deep=too_deep,
        msg=msg,
    )
