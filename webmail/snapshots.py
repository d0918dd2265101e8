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
"""

from __future__ import annotations

import hashlib
import pickle  # our own objects, in our own Redis (the cache pickles anyway)
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.cache import cache as django_cache
from django.utils.translation import get_language

from documents import reading as health_documents
from mailboxes.mail import mime
from mailboxes.models import Mailbox, MessageIndex
from webmail import rendering

VERSION = 1  # of the snapshot's shape: a new shape never reads an old one


@dataclass(frozen=True)
class Snapshot:
    message: mime.ParsedMessage  # without its parsed `msg`: headers, text, attachment list
    html: rendering.Rendered | None  # the HTML body cleaned, remote images held back
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
    folder = hashlib.sha256(row.folder.name.encode()).hexdigest()[:16]
    validity = row.folder.uidvalidity
    return f"webmail:reading:{VERSION}:{mailbox.pk}:{folder}:{validity}:{row.uid}:{get_language()}"


def get(mailbox: Mailbox, row: MessageIndex | None) -> Snapshot | None:
    """The kept snapshot of the message the cache's `row` stands for, if any."""
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


def keep(mailbox: Mailbox, row: MessageIndex | None, snapshot: Snapshot) -> None:
    if row is None or not row.folder.uidvalidity or not settings.WEBMAIL_BODY_CACHE_SECONDS:
        return
    data = pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) <= settings.WEBMAIL_BODY_CACHE_BYTES:
        django_cache.set(_key(mailbox, row), data, settings.WEBMAIL_BODY_CACHE_SECONDS)
