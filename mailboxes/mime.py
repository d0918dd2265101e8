"""Received MIME -> what the reader shows. Standard `email` package, policy.default.

Malformed mail never raises out of here: a part that cannot be decoded is shown as such.
"""

from __future__ import annotations

import email
import email.utils
import html
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from email.policy import default as default_policy

import nh3


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


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


def header(msg: Message, name: str) -> str:
    """The decoded header, or its raw text when decoding fails (RFC 2047 gone wrong)."""
    try:
        return str(msg.get(name, "") or "")
    except (ValueError, TypeError, LookupError, IndexError):
        raw = msg.get_all(name, failobj=[""])
        return str(raw[0]) if raw else ""


def addresses(msg: Message, name: str) -> list[str]:
    value = header(msg, name)
    if not value:
        return []
    return [email.utils.formataddr(pair) for pair in email.utils.getaddresses([value]) if any(pair)]


def part_text(part: Message) -> str:
    """A text part decoded with its declared charset, falling back to replacement characters."""
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


def body_text(msg: EmailMessage) -> tuple[str, bool]:
    """The plain-text body (or the HTML one made text), and whether it came from HTML."""
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except (KeyError, LookupError, ValueError):
        body = None
    if body is None:
        return "", False
    text = part_text(body)
    if body.get_content_subtype() == "html":
        return html_to_text(text), True
    return text, False


def attachments(msg: EmailMessage) -> list[Attachment]:
    found = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                filename=part.get_filename() or "",
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    return found


def parse(raw: bytes) -> ParsedMessage:
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)  # noqa: S101 - policy.default guarantees it
    text, from_html = body_text(msg)
    try:
        date = email.utils.parsedate_to_datetime(header(msg, "Date"))
    except (TypeError, ValueError, IndexError):
        date = None
    return ParsedMessage(
        subject=header(msg, "Subject"),
        from_=header(msg, "From"),
        sender=header(msg, "Sender"),
        to=addresses(msg, "To"),
        cc=addresses(msg, "Cc"),
        date=date if date is None or date.tzinfo else None,
        message_id=header(msg, "Message-ID"),
        text=text,
        text_from_html=from_html,
        attachments=attachments(msg),
    )
