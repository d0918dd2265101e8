"""The reader's snapshot of a message: what its page and its body frame show, worked out once
from the source (one parse, one clean-up by nh3, its health documents summarised) and kept in
Redis, so that a message opened again is drawn without the operator, the parser or nh3
(issue 16: 20 ms before, most of it parsing twice and cleaning the HTML for the frame).

A message's content never changes under its UID while the folder keeps its UIDVALIDITY
(RFC 3501 §2.3.1.1), so the key is the message's identity (and the language: the documents'
reasons are French or English); the snapshot lives as long as the reader's body cache
(WEBMAIL_BODY_CACHE_SECONDS) and is no bigger than it may be (WEBMAIL_BODY_CACHE_BYTES).
Whether the message still exists is the sync's word (its MessageIndex row). Callers have
checked access (READ) before asking for one: the key holds the mailbox, never the person.

The cleaned HTML is kept apart from the rest: the page needs only what it says of the body
(images held back, nothing to see), the body frame only the HTML. The page hands its frame a
signed token naming the message (`body_token`): for a few minutes, in the same session, the
frame reads the HTML by it, with the person's access checked again but without looking the
message up (issue 16: the frame cost two queries and the whole snapshot's unpickling).
"""

from __future__ import annotations

import hashlib
import pickle  # our own objects, in our own Redis (the cache pickles anyway)
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.conf import settings
from django.core import signing
from django.core.cache import cache as django_cache
from django.http import HttpRequest
from django.utils.translation import get_language

from documents import reading as health_documents
from mailboxes.mail import mime
from mailboxes.models import Mailbox, MessageIndex
from webmail import rendering

VERSION = 2  # of the snapshot's shape: a new shape never reads an old one
FRAME_SALT = "webmail.snapshots.body"  # signing.dumps namespace
TOKEN_SECONDS = 300  # a frame asked for long after its page (a reload) looks the message up


@dataclass(frozen=True)
class Snapshot:
    message: mime.ParsedMessage  # without its parsed `msg`: headers, text, attachment list
    # The HTML body cleaned, remote images held back; kept without the HTML itself (the
    # frame's part, `body`), so that what get() answers has `html.html == ""`.
    html: rendering.Rendered | None
    documents: health_documents.Documents  # XDM-R11, HDR-IN, PAT4


def build(
    parsed: mime.ParsedMessage,
    where: tuple[Mailbox, str, int],
    part_url: Callable[[int], str],
) -> Snapshot:
    """The snapshot of a message parsed from its source (the one parse of the opening)."""
    msg = parsed.msg
    html = None
    if parsed.html_index is not None and mime.part_at(msg, parsed.html_index) is not None:
        html = rendering.render(
            mime.part_text_of(msg, parsed.html_index), part_url, mime.content_ids(msg)
        )
    documents = health_documents.of_message(parsed, where)
    return Snapshot(replace(parsed, msg=mime.ReceivedMessage()), html, documents)


def _key(mailbox: Mailbox, row: MessageIndex) -> str:
    return (
        f"{_message(mailbox.pk, row.folder.name, row.folder.uidvalidity, row.uid)}:{get_language()}"
    )


def _message(mailbox_id: int, folder: str, uidvalidity: int, uid: int) -> str:
    name = hashlib.sha256(folder.encode()).hexdigest()[:16]
    return f"webmail:reading:{VERSION}:{mailbox_id}:{name}:{uidvalidity}:{uid}"


def _body_key(mailbox_id: int, folder: str, uidvalidity: int, uid: int) -> str:
    return _message(mailbox_id, folder, uidvalidity, uid) + ":body"


def get(mailbox: Mailbox, row: MessageIndex | None) -> Snapshot | None:
    """The kept snapshot of the message the cache's `row` stands for, if any (its HTML
    left out: `body`)."""
    if row is None or not row.folder.uidvalidity:
        return None
    data = django_cache.get(_key(mailbox, row))
    if not isinstance(data, bytes):
        return None
    try:
        found = pickle.loads(data)  # noqa: S301 - written by keep() below, never by a client
    except Exception:  # an entry from another release: drawn anew
        return None
    return found if isinstance(found, Snapshot) else None


def body(mailbox: Mailbox, row: MessageIndex | None) -> str | None:
    """The kept cleaned HTML of the message `row` stands for, if any."""
    if row is None or not row.folder.uidvalidity:
        return None
    found = django_cache.get(
        _body_key(mailbox.pk, row.folder.name, row.folder.uidvalidity, row.uid)
    )
    return found if isinstance(found, str) else None


def keep(mailbox: Mailbox, row: MessageIndex | None, snapshot: Snapshot) -> None:
    if row is None or not row.folder.uidvalidity or not settings.WEBMAIL_BODY_CACHE_SECONDS:
        return
    entries: dict[str, object] = {}
    page = snapshot
    if snapshot.html is not None:
        html = snapshot.html.html
        if len(html.encode()) > settings.WEBMAIL_BODY_CACHE_BYTES:
            return
        page = replace(snapshot, html=replace(snapshot.html, html=""))
        where = (mailbox.pk, row.folder.name, row.folder.uidvalidity, row.uid)
        entries[_body_key(*where)] = html
    data = pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) <= settings.WEBMAIL_BODY_CACHE_BYTES:
        entries[_key(mailbox, row)] = data
        django_cache.set_many(entries, settings.WEBMAIL_BODY_CACHE_SECONDS)


def _session_tag(request: HttpRequest) -> str:
    key = request.session.session_key or ""
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else ""


def body_token(request: HttpRequest, mailbox: Mailbox, row: MessageIndex) -> str:
    """What the page's frame URL carries: this message, for this session, signed."""
    where = [mailbox.pk, row.folder.name, row.folder.uidvalidity, row.uid]
    return signing.dumps([*where, _session_tag(request)], salt=FRAME_SALT)


def body_by_token(
    request: HttpRequest, mailbox: Mailbox, folder: str, uid: int, token: str
) -> str | None:
    """The kept HTML the page's token names, if it names this message, in this session, and
    is recent; else None (the caller looks the message up). Access is the caller's to check
    (READ, access.mailbox_or_404): the token only spares looking the message up, just done
    by the page."""
    try:
        found = signing.loads(token, salt=FRAME_SALT, max_age=TOKEN_SECONDS)
        mailbox_id, name, uidvalidity, named_uid, tag = found
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if (mailbox_id, name, named_uid) != (mailbox.pk, folder, uid) or not tag:
        return None
    if tag != _session_tag(request) or not isinstance(uidvalidity, int):
        return None
    html = django_cache.get(_body_key(mailbox.pk, folder, uidvalidity, uid))
    return html if isinstance(html, str) else None
