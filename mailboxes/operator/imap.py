"""IMAP sessions with the operator, one interface whatever the access strategy.

How we authenticate for a mailbox is mailboxes/operator/strategies.py's business.
imapclient is not thread-safe: a session belongs to one request or task.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mailboxes.mail.folders import Listing, check_folder
from mailboxes.mail.headers import addresses, field, parse_date
from mailboxes.models import Mailbox
from mailboxes.operator import FolderMissing, OperatorRefused, OperatorUnavailable, strategies

logger = logging.getLogger(__name__)
# imaplib refuses any response line over 1 MB (a guard against a hostile server). Our
# operator is trusted, but a sender is not: the BODYSTRUCTURE of a message of 10,000 parts
# is one line of about 1.4 MB, and it failed the whole mailbox's sync. The operator's
# message size limit (25 MB) bounds what a line can be.
imaplib._MAXLINE = max(imaplib._MAXLINE, 32 * 1024 * 1024)  # type: ignore[attr-defined]

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


def _login(mailbox: Mailbox) -> IMAPClient:
    try:
        client = _connect()
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise OperatorUnavailable(f"IMAP connection failed ({type(exc).__name__})") from exc
    try:
        strategies.imap_login(client, mailbox)
    except (IMAPClientError, imaplib.IMAP4.error, OperatorUnavailable) as exc:
        _close(client)
        if isinstance(exc, OperatorUnavailable):
            raise
        raise OperatorUnavailable("IMAP login refused by the operator") from exc
    except OSError as exc:
        _close(client)
        raise OperatorUnavailable(f"IMAP connection failed ({type(exc).__name__})") from exc
    return client


# IDLE on a connection the server dropped: imapclient's idle_check finds the socket readable,
# reads EOF, and answers [] at once, again and again (it never raises). An answer that empty,
# that early, this many times in a row, means the connection is gone.
DEAD_AFTER_EMPTY = 3


class IdleListener:
    """What IMAP IDLE (RFC 2177) tells, with a dead connection or the server's BYE raised as
    OperatorUnavailable instead of being answered as "nothing new" (issue 17)."""

    def __init__(self, client: IMAPClient) -> None:
        self.client = client
        self.empty_in_a_row = 0

    def check(self, timeout: float) -> list[Any]:
        started = time.monotonic()
        with _errors_translated():
            responses = list(self.client.idle_check(timeout=timeout))
        if any(isinstance(r, tuple) and r and r[0] == b"BYE" for r in responses):
            raise OperatorUnavailable("IMAP server said BYE during IDLE")
        if responses or time.monotonic() - started >= timeout / 2:
            self.empty_in_a_row = 0
        else:
            self.empty_in_a_row += 1
            if self.empty_in_a_row >= DEAD_AFTER_EMPTY:
                raise OperatorUnavailable("IMAP connection closed during IDLE")
            time.sleep(0.05)  # never a busy loop, even before the third
        return responses


def _close(client: IMAPClient) -> None:
    with contextlib.suppress(OSError, IMAPClientError, imaplib.IMAP4.error):
        client.logout()


@contextmanager
def _errors_translated() -> Iterator[None]:
    try:
        yield
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise OperatorUnavailable(f"IMAP session lost ({type(exc).__name__})") from exc
    except (IMAPClientError, imaplib.IMAP4.error) as exc:
        raise OperatorRefused(f"IMAP refused: {str(exc)[:150]}") from exc


@contextmanager
def imap_session(mailbox: Mailbox) -> Iterator[IMAPClient]:
    """An authenticated IMAP session on `mailbox`; OperatorUnavailable on any failure.

    The caller has already checked access (mailboxes.access); this only speaks IMAP.
    """
    client = _login(mailbox)
    try:
        with _errors_translated():
            yield client
    finally:
        _close(client)


# Sessions are reused within a process: a login costs the operator a process and us ~50 ms,
# more than most of what a page or a sync then asks. Keyed by everything that decides the
# login (a changed setting never reuses an old session) and by purpose (the sync ENABLEs
# QRESYNC, which changes how the server reports expunges). A session serves one caller at a
# time; idle ones are closed after POOL_IDLE_SECONDS, at most POOL_IDLE_PER_KEY kept.
POOL_IDLE_SECONDS = 60
POOL_IDLE_PER_KEY = 2
_pool: dict[tuple[object, ...], list[tuple[float, IMAPClient]]] = {}
_pool_lock = threading.Lock()


def _pool_key(mailbox: Mailbox, purpose: str) -> tuple[object, ...]:
    return (
        purpose,
        mailbox.pk,
        mailbox.address,
        *strategies.strategy_for(mailbox).pool_identity(),
        settings.OPERATOR_IMAP_HOST,
        settings.OPERATOR_IMAP_PORT,
        settings.OPERATOR_IMAP_SECURITY,
    )


def _take(key: tuple[object, ...]) -> IMAPClient | None:
    while True:
        with _pool_lock:
            idle = _pool.get(key, [])
            if not idle:
                return None
            since, client = idle.pop()
        if time.monotonic() - since < POOL_IDLE_SECONDS:
            try:
                client.noop()
                return client
            except (OSError, IMAPClientError, imaplib.IMAP4.error):
                pass
        _close(client)


def drop_pool() -> None:
    """Log out of every pooled session (the next ones connect afresh)."""
    with _pool_lock:
        idle = [client for clients in _pool.values() for _, client in clients]
        _pool.clear()
    for client in idle:
        _close(client)


def _give_back(key: tuple[object, ...], client: IMAPClient) -> None:
    now = time.monotonic()
    stale: list[IMAPClient] = []
    with _pool_lock:
        for other_key, idle in list(_pool.items()):
            stale.extend(c for since, c in idle if now - since >= POOL_IDLE_SECONDS)
            _pool[other_key] = [(since, c) for since, c in idle if now - since < POOL_IDLE_SECONDS]
        idle = _pool.setdefault(key, [])
        if len(idle) < POOL_IDLE_PER_KEY:
            idle.append((now, client))
        else:
            stale.append(client)
    for old in stale:
        _close(old)


@contextmanager
def pooled_session(mailbox: Mailbox, purpose: str = "web") -> Iterator[IMAPClient]:
    """Like imap_session, with a session kept for the next caller in this process when the
    mailbox's strategy allows it (not XOAUTH2: the token belongs to one request)."""
    if not strategies.strategy_for(mailbox).poolable:
        with imap_session(mailbox) as client:
            yield client
        return
    key = _pool_key(mailbox, purpose)
    client = _take(key) or _login(mailbox)
    healthy = False
    try:
        with _errors_translated():
            yield client
        healthy = True
    finally:
        if healthy:
            with contextlib.suppress(IMAPClientError, imaplib.IMAP4.error, OSError):
                if client._imap.state == "SELECTED":
                    client.unselect_folder()  # back to AUTH, nothing expunged
            client._imap.untagged_responses.clear()  # nothing of this use for the next
            _give_back(key, client)
        else:
            _close(client)


def _envelope(uid: int, data: dict[bytes, object]) -> Envelope:
    raw_headers = data.get(b"BODY[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]", b"")
    headers = BytesHeaderParser(policy=default_policy).parsebytes(bytes(raw_headers or b""))  # type: ignore[call-overload]  # FETCH data
    [(sender_name, sender_address), *_] = addresses([field(headers, "From")]) or [("", "")]
    flags = data.get(b"FLAGS", ())
    return Envelope(
        uid=uid,
        subject=field(headers, "Subject"),
        sender_name=sender_name,
        sender_address=sender_address,
        date=parse_date(field(headers, "Date")),
        size=int(data.get(b"RFC822.SIZE", 0) or 0),  # type: ignore[call-overload]
        seen=b"\\Seen" in flags,  # type: ignore[operator]
        flagged=b"\\Flagged" in flags,  # type: ignore[operator]
    )


SORT_KEYS = {"date": b"DATE", "from": b"FROM", "subject": b"SUBJECT", "size": b"SIZE"}
SPECIAL_USES = (b"\\Drafts", b"\\Sent", b"\\Archive", b"\\Junk", b"\\Trash")


def _sorted_uids(client: IMAPClient, listing: Listing) -> list[int]:
    """UIDs in the asked order: SORT (RFC 5256) when offered, else by UID."""
    criteria = [b"UNSEEN"] if listing.unread_only else [b"ALL"]
    if b"SORT" in client.capabilities():
        keys = [b"REVERSE"] if listing.descending else []
        return list(client.sort([*keys, SORT_KEYS[listing.sort]], criteria))
    return sorted(client.search(criteria), reverse=listing.descending)


def list_folder(
    mailbox: Mailbox, folder: str, page: int, per_page: int, listing: Listing | None = None
) -> FolderPage:
    """One page of a folder straight from IMAP: SORT + FETCH on a new connection. Pages read
    the cache (mailboxes.mailcache.cache); this is the benchmark's baseline, and a check in tests."""
    listing = listing or Listing()
    folder = check_folder(folder)
    with imap_session(mailbox) as client:
        client.select_folder(folder, readonly=True)
        uids = _sorted_uids(client, listing)
        unseen = len(uids) if listing.unread_only else len(client.search(["UNSEEN"]))
        chosen = uids[(page - 1) * per_page : page * per_page]
        fetched = client.fetch(chosen, [b"FLAGS", b"RFC822.SIZE", HEADER_FIELDS]) if chosen else {}
    envelopes = [_envelope(uid, fetched[uid]) for uid in chosen if uid in fetched]
    return FolderPage(total=len(uids), unseen=unseen, envelopes=envelopes)


def special_use(flags: tuple[bytes, ...]) -> str:
    """A LIST answer's special-use attribute (RFC 6154), e.g. "\\Trash", or ""."""
    return next((f.decode() for f in flags if f in SPECIAL_USES), "")


def _special_in(client: IMAPClient, use: str) -> str | None:
    """The folder with this special use, by LIST alone, in the caller's session."""
    return next(
        (str(n) for flags, _, n in client.list_folders() if special_use(flags) == use), None
    )


def special_folder(mailbox: Mailbox, use: str) -> str | None:
    """The name of the folder with this special use (RFC 6154), e.g. "\\Trash"."""
    with pooled_session(mailbox) as client:
        return _special_in(client, use)


def fetch_message(mailbox: Mailbox, folder: str, uid: int, peek: bool = False) -> bytes | None:
    """The full RFC 5322 message; opening it marks it \\Seen as any mail client does, a
    `peek` (body frame, attachment, download) does not. None if it is not there."""
    found = fetch_with_flags(mailbox, folder, uid, peek)
    return found[0] if found else None


def _select(client: IMAPClient, folder: str, *, readonly: bool) -> None:
    """SELECT, telling a folder that does not exist (FolderMissing) from a refusal. imaplib
    keeps RFC 5530's [NONEXISTENT] out of the error, so ask LIST, on failure only."""
    try:
        client.select_folder(folder, readonly=readonly)
    except (IMAPClientError, imaplib.IMAP4.error):
        if not client.folder_exists(folder):
            raise FolderMissing(f"no folder {folder!r}") from None
        raise


def fetch_with_flags(
    mailbox: Mailbox, folder: str, uid: int, peek: bool = False
) -> tuple[bytes, tuple[bytes, ...]] | None:
    """The message and its flags, in one FETCH."""
    folder = check_folder(folder)
    item = b"BODY.PEEK[]" if peek else b"BODY[]"
    with pooled_session(mailbox) as client:
        _select(client, folder, readonly=peek)
        data = client.fetch([uid], [item, b"FLAGS"]).get(uid)
    if not data or data.get(b"BODY[]") is None:
        return None
    return data[b"BODY[]"], tuple(data.get(b"FLAGS", ()))


def set_flag(mailbox: Mailbox, folder: str, uids: list[int], flag: bytes, on: bool) -> None:
    with pooled_session(mailbox) as client:
        client.select_folder(check_folder(folder))
        (client.add_flags if on else client.remove_flags)(uids, [flag])


def add_keywords(mailbox: Mailbox, folder: str, by_keyword: dict[str, list[int]]) -> None:
    """Several keywords on several messages of one folder, in one session and one SELECT."""
    with pooled_session(mailbox) as client:
        client.select_folder(check_folder(folder))
        for keyword, uids in by_keyword.items():
            client.add_flags(uids, [keyword.encode()])


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


@dataclass(frozen=True)
class Copied:
    """Where a move put the messages: the target's UIDVALIDITY and each UID's new UID there,
    from the server's COPYUID (RFC 4315 UIDPLUS); empty when it gave none."""

    uidvalidity: int | None
    uids: dict[int, int]


def copied(answers: list[bytes | str]) -> Copied:
    """The COPYUID response codes of a MOVE (sent untagged, RFC 6851 §4.3) or a COPY (in
    the tagged answer), as imaplib collects them: 'uidvalidity source-set target-set'."""
    uidvalidity: int | None = None
    pairs: dict[int, int] = {}
    for answer in answers:
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        parts = text.split()
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        uidvalidity = int(parts[0])
        pairs.update(zip(uid_set(parts[1]), uid_set(parts[2]), strict=False))
    return Copied(uidvalidity, pairs)


def move(
    mailbox: Mailbox, folder: str, uids: list[int], target: str, uidvalidity: int | None = None
) -> Copied:
    """MOVE (RFC 6851) when offered, else COPY + \\Deleted + UID EXPUNGE of those UIDs; where
    they went. With `uidvalidity`, only if `folder` still has it (an undo: UIDs from an
    earlier answer mean nothing once the folder was rebuilt)."""
    with pooled_session(mailbox) as client:
        selected = client.select_folder(check_folder(folder))
        if uidvalidity is not None and selected.get(b"UIDVALIDITY") != uidvalidity:
            raise OperatorRefused(f"UIDVALIDITY of {folder!r} changed")
        untagged = client._imap.untagged_responses
        untagged.pop("COPYUID", None)
        if b"MOVE" in client.capabilities():
            client.move(uids, check_folder(target))
        else:
            client.copy(uids, check_folder(target))
            client.delete_messages(uids)
            client.uid_expunge(uids)
        return copied(untagged.pop("COPYUID", []))


def uids_by_message_id(
    mailbox: Mailbox, folder: str, message_ids: list[str]
) -> tuple[int | None, list[int]]:
    """The folder's UIDVALIDITY and the UIDs of the messages with these Message-IDs: where a
    move put them when the server said nothing (no UIDPLUS)."""
    found: set[int] = set()
    with pooled_session(mailbox) as client:
        selected = client.select_folder(check_folder(folder), readonly=True)
        for message_id in message_ids[:50]:
            found.update(client.search(["HEADER", "Message-ID", message_id]))
    return selected.get(b"UIDVALIDITY"), sorted(found)


def expunge_all(mailbox: Mailbox, folder: str) -> int:
    """Delete every message of a folder for good (emptying the Trash). Returns how many."""
    with pooled_session(mailbox) as client:
        client.select_folder(check_folder(folder))
        uids = client.search(["ALL"])
        if uids:
            client.delete_messages(uids)
            client.uid_expunge(uids)
    return len(uids)


def file_away(mailbox: Mailbox, folder: str, uids: list[int], target: str) -> None:
    """Mark messages read and, when `target` is given, move them there (created if missing):
    delivery reports already matched to their sent message."""
    with pooled_session(mailbox) as client:
        if target and not client.folder_exists(check_folder(target)):
            client.create_folder(target)
        client.select_folder(check_folder(folder))
        client.add_flags(uids, [b"\\Seen"])
    if target:
        move(mailbox, folder, uids, target)


def expunge(mailbox: Mailbox, folder: str, uids: list[int]) -> None:
    """Delete these messages of a folder for good (RFC 4315 UID EXPUNGE: only these)."""
    with pooled_session(mailbox) as client:
        client.select_folder(check_folder(folder))
        client.delete_messages(uids)
        client.uid_expunge(uids)


def append(
    mailbox: Mailbox,
    use: str,
    raw: bytes,
    flags: tuple[bytes, ...] = (b"\\Seen",),
    unless_there: str = "",
) -> str:
    """Store a message in the folder with this special use (a sent copy in \\Sent). With
    `unless_there` (a Message-ID), not when the folder holds it already: a retry after an
    append whose answer was lost stores no second copy."""
    with pooled_session(mailbox) as client:
        folder = _special_in(client, use)
        if folder is None:
            raise OperatorRefused(f"no {use} folder")
        if unless_there:
            _select(client, folder, readonly=True)
            if client.search(["HEADER", "Message-ID", unless_there]):
                return folder
        client.append(folder, raw, flags=flags)
    return folder


def replace_draft(mailbox: Mailbox, raw: bytes, previous_uid: int | None) -> int | None:
    """Store a draft in \\Drafts and delete its previous version; its new UID (UIDPLUS)."""
    with pooled_session(mailbox) as client:
        folder = _special_in(client, "\\Drafts")
        if folder is None:
            raise OperatorRefused("no \\Drafts folder")
        answer = client.append(folder, raw, flags=(b"\\Draft", b"\\Seen"))
        client.select_folder(folder)
        if previous_uid:
            client.delete_messages([previous_uid])
            client.uid_expunge([previous_uid])
    return appended_uid(answer)


def appended_uid(answer: bytes | str) -> int | None:
    """The UID in an APPENDUID response code (RFC 4315), if the server gave one."""
    text = answer.decode() if isinstance(answer, bytes) else str(answer)
    match = re.search(r"APPENDUID \d+ (\d+)", text)
    return int(match.group(1)) if match else None


def delete_draft(mailbox: Mailbox, uid: int) -> None:
    with pooled_session(mailbox) as client:
        folder = _special_in(client, "\\Drafts")
        if folder is None:
            return
        client.select_folder(folder)
        client.delete_messages([uid])
        client.uid_expunge([uid])


def probe() -> None:
    """Connect and read the greeting and capabilities; raise OperatorUnavailable if not."""
    try:
        client = _connect()
        client.capabilities()
        client.logout()
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise OperatorUnavailable(f"IMAP unreachable ({type(exc).__name__})") from exc
