"""IMAP sessions with the operator, one interface whatever the access strategy.

How we authenticate for a mailbox is mailboxes/operator/strategies.py's business.
imapclient is not thread-safe: a session belongs to one request or task.
"""

from __future__ import annotations

import contextlib
import email.utils
import imaplib
import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import TYPE_CHECKING

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mailboxes.operator import OperatorUnavailable, strategies

if TYPE_CHECKING:
    from mailboxes.models import Mailbox

logger = logging.getLogger(__name__)

# Folder names come from the URL: only what an IMAP mailbox name can be, no wildcards.
FORBIDDEN_IN_FOLDER = frozenset("*%\r\n\0")
HEADER_FIELDS = b"BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]"


@dataclass(frozen=True)
class Envelope:
    """What a message list shows of one message."""

    uid: int
    subject: str
    sender_name: str
    sender_address: str
    date: datetime | None
    size: int
    seen: bool
    flagged: bool


@dataclass(frozen=True)
class FolderPage:
    total: int
    unseen: int
    envelopes: list[Envelope]


def check_folder(folder: str) -> str:
    if not folder or len(folder) > 200 or FORBIDDEN_IN_FOLDER.intersection(folder):
        raise ValueError("invalid folder name")
    return folder


def _connect() -> IMAPClient:
    security = settings.OPERATOR_IMAP_SECURITY
    context = ssl.create_default_context() if security != "none" else None
    client = IMAPClient(
        settings.OPERATOR_IMAP_HOST,
        port=settings.OPERATOR_IMAP_PORT,
        ssl=security == "tls",
        ssl_context=context,
        timeout=settings.OPERATOR_TIMEOUT,
    )
    if security == "starttls":
        client.starttls(context)
    return client


@contextmanager
def imap_session(mailbox: Mailbox) -> Iterator[IMAPClient]:
    """An authenticated IMAP session on `mailbox`; OperatorUnavailable on any failure.

    The caller has already checked access (mailboxes.access); this only speaks IMAP.
    """
    try:
        client = _connect()
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise OperatorUnavailable(f"IMAP connection failed ({type(exc).__name__})") from exc
    try:
        try:
            strategies.imap_login(client, mailbox)
        except (IMAPClientError, imaplib.IMAP4.error) as exc:
            raise OperatorUnavailable("IMAP login refused by the operator") from exc
        try:
            yield client
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise OperatorUnavailable(f"IMAP session lost ({type(exc).__name__})") from exc
    finally:
        with contextlib.suppress(OSError, IMAPClientError, imaplib.IMAP4.error):
            client.logout()


def _envelope(uid: int, data: dict[bytes, object]) -> Envelope:
    raw_headers = data.get(b"BODY[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]", b"")
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw_headers or b"")
    sender_name, sender_address = email.utils.parseaddr(str(headers.get("From", "")))
    flags = data.get(b"FLAGS", ())
    return Envelope(
        uid=uid,
        subject=_safe_header(headers, "Subject"),
        sender_name=sender_name,
        sender_address=sender_address,
        date=_parse_date(_safe_header(headers, "Date")),
        size=int(data.get(b"RFC822.SIZE", 0) or 0),  # type: ignore[call-overload]
        seen=b"\\Seen" in flags,  # type: ignore[operator]
        flagged=b"\\Flagged" in flags,  # type: ignore[operator]
    )


def _safe_header(headers: object, name: str) -> str:
    """A decoded header, or its raw text when it is malformed (never an exception)."""
    try:
        return str(headers.get(name, "") or "")  # type: ignore[attr-defined]
    except (ValueError, TypeError, LookupError, IndexError):
        raw = headers.get_all(name, failobj=[""])  # type: ignore[attr-defined]
        return str(raw[0]) if raw else ""


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else None


def _newest_first(client: IMAPClient) -> list[int]:
    """UIDs by Date header, newest first: SORT (RFC 5256) when offered, else UID order."""
    if b"SORT" in client.capabilities():
        return list(client.sort([b"REVERSE", b"DATE"]))
    return sorted(client.search(["ALL"]), reverse=True)


def list_folder(mailbox: Mailbox, folder: str, page: int, per_page: int) -> FolderPage:
    """One page of a folder, newest first, straight from IMAP (the cache comes later)."""
    folder = check_folder(folder)
    with imap_session(mailbox) as client:
        client.select_folder(folder, readonly=True)
        uids = _newest_first(client)
        unseen = len(client.search(["UNSEEN"]))
        chosen = uids[(page - 1) * per_page : page * per_page]
        fetched = client.fetch(chosen, [b"FLAGS", b"RFC822.SIZE", HEADER_FIELDS]) if chosen else {}
    envelopes = [_envelope(uid, fetched[uid]) for uid in chosen if uid in fetched]
    return FolderPage(total=len(uids), unseen=unseen, envelopes=envelopes)


def fetch_message(mailbox: Mailbox, folder: str, uid: int) -> bytes | None:
    """The full RFC 5322 message, marking it \\Seen as any mail client does; None if absent."""
    folder = check_folder(folder)
    with imap_session(mailbox) as client:
        client.select_folder(folder)
        data = client.fetch([uid], [b"BODY[]"]).get(uid)
    if not data:
        return None
    return data.get(b"BODY[]")  # type: ignore[return-value]


def probe() -> None:
    """Connect and read the greeting and capabilities; raise OperatorUnavailable if not."""
    try:
        client = _connect()
        client.capabilities()
        client.logout()
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise OperatorUnavailable(f"IMAP unreachable ({type(exc).__name__})") from exc
