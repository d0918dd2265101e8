"""What changed, and who is looking: a little Redis state shared by the web processes, the
Celery workers and the IDLE watcher.

- A version number per mailbox, bumped whenever its cache changes, and published on the
  mailbox's channel with the other notices an open page listens to (webmail/push.py): a
  sync's progress, a change of someone's access, a change on one of its conversations.
- The mailboxes people have open (a sorted set by last view); the watcher holds IDLE on them.
- Sync requests, de-duplicated: one task per mailbox per SYNC_INTERVAL however many pages ask.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from redis.commands.core import Script

from mailboxes import locks as mailbox_locks

logger = logging.getLogger(__name__)

ACTIVE_KEY = "webmail:active"
ACTIVE_SECONDS = 10 * 60
SYNC_INTERVAL = 30
THREAD_ID = re.compile(r"^[0-9a-f]{8,64}$")


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def locks() -> redis.Redis:
    """Where the per-mailbox sync locks live (mailboxes.locks)."""
    return mailbox_locks.client()


def version_key(mailbox_id: int) -> str:
    return f"webmail:version:{mailbox_id}"


def version(mailbox_id: int) -> int:
    return int(client().get(version_key(mailbox_id)) or 0)


def summaries_key(mailbox_id: int) -> str:
    return f"webmail:summaries:{mailbox_id}"


def versions(mailbox_id: int) -> tuple[int, int]:
    """The mailbox's version and its summaries' count (`summarised`), in one read."""
    found = client().mget([version_key(mailbox_id), summaries_key(mailbox_id)])
    return int(found[0] or 0), int(found[1] or 0)


def summarised(mailbox_id: int) -> None:
    """A health package of the mailbox was summarised (documents.summaries): the lists' rows
    show a line for it, so their cached rows are drawn again (webmail.views.mail.rows_of).
    Not a change of the mailbox: no version, no notice (opening a message stores its
    summary, and must not make every open list redraw)."""
    client().incr(summaries_key(mailbox_id))


# INCR and PUBLISH in one step: listeners see the versions in the order they were made, and
# no bump is counted without its notice going out.
_BUMP = (
    """local v = redis.call('INCR', KEYS[1]) redis.call('PUBLISH', ARGV[1], 'v:' .. v) return v"""
)


def channel(mailbox_id: int) -> str:
    """Where the mailbox's notices are published (Redis pub/sub: nothing is kept, a page that
    was not listening catches up from `version`). Channels belong to the whole Redis server,
    not to a database: the name carries REDIS_URL's database, so that two sites (or test
    suites) on one server, each in its own database, never hear each other's mailboxes."""
    db = client().connection_pool.connection_kwargs.get("db", 0)
    return f"webmail:{db}:live:{mailbox_id}"


def bump(mailbox_id: int) -> int:
    script = _bump_script(client())
    return int(script(keys=[version_key(mailbox_id)], args=[channel(mailbox_id)]))


@functools.cache
def _bump_script(connection: redis.Redis) -> Script:
    return connection.register_script(_BUMP)


def progress(mailbox_id: int) -> None:
    """A running sync moved on (a chunk indexed, or it failed): pages showing its progress
    redraw. The version does not move: a sync's chunks never bump it (see rows_of)."""
    client().publish(channel(mailbox_id), "sync")


def access_changed(mailbox_id: int, person_id: int) -> None:
    """Someone's delegation on the mailbox changed: their open streams check their right
    to read again (and end if it is gone)."""
    client().publish(channel(mailbox_id), f"access:{person_id}")


def conversation_changed(mailbox_id: int, thread: str) -> None:
    """Something the open pages of one of the mailbox's conversations show changed (its
    triage state, who is there): those pages redraw their live panel. `thread` is an opaque
    id the page knows (triage.presence.thread_id): never a Message-ID, a subject or a name
    (every reader of the mailbox hears it)."""
    if not THREAD_ID.match(thread):
        raise ValueError("not an opaque conversation id")
    client().publish(channel(mailbox_id), f"t:{thread}")


def session_ended(mailbox_ids: list[int], token: str) -> None:
    """A session ended (logged out): its streams on these mailboxes end at once."""
    with client().pipeline(transaction=False) as pipe:
        for mailbox_id in mailbox_ids:
            pipe.publish(channel(mailbox_id), f"end:{token}")
        pipe.execute()


@dataclass(frozen=True)
class Notice:
    """One published notice: `version` (the mailbox changed, now at `value`), `sync`
    (progress), `access` (`value`: whose), `end` (`token`: the session that ended) or
    `conversation` (`token`: the opaque id of the conversation that changed)."""

    kind: str
    value: int = 0
    token: str = ""


def notice(data: bytes | str) -> Notice | None:
    text = data.decode() if isinstance(data, bytes) else data
    kind, _, value = text.partition(":")
    if kind == "v" and value.isdigit():
        return Notice("version", int(value))
    if kind == "sync":
        return Notice("sync")
    if kind == "access" and value.isdigit():
        return Notice("access", int(value))
    if kind == "end" and value:
        return Notice("end", token=value)
    if kind == "t" and THREAD_ID.match(value):
        return Notice("conversation", token=value)
    logger.warning("unknown live notice %r", text[:40])
    return None


def touch(mailbox_id: int) -> None:
    """Someone has this mailbox open now."""
    client().zadd(ACTIVE_KEY, {str(mailbox_id): time.time()})


def active(within: int = ACTIVE_SECONDS) -> set[int]:
    """The mailboxes someone had open in the last `within` seconds."""
    now = time.time()
    connection = client()
    connection.zremrangebyscore(ACTIVE_KEY, "-inf", now - ACTIVE_SECONDS)
    members = connection.zrangebyscore(ACTIVE_KEY, now - within, "+inf")
    return {int(m) for m in members}  # type: ignore[arg-type]  # plain members, no scores asked


def touch_and_claim(mailbox_id: int, *, force: bool = False) -> bool:
    """`touch`, then True for the first caller in SYNC_INTERVAL seconds: that one enqueues
    the sync. `force` (after our own change) always claims, and so does the next caller 2 s
    later. One round trip to Redis (every list page asks both)."""
    with client().pipeline(transaction=False) as pipe:
        pipe.zadd(ACTIVE_KEY, {str(mailbox_id): time.time()})
        _claim(pipe, mailbox_id, force)
        return bool(pipe.execute()[1])


def _claim(connection: redis.Redis, mailbox_id: int, force: bool) -> object:
    key = f"webmail:sync:asked:{mailbox_id}"
    if force:
        return connection.set(key, 1, ex=2)
    return connection.set(key, 1, nx=True, ex=SYNC_INTERVAL)
