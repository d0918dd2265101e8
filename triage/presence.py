"""Who else has a conversation open, and who is writing a reply to it: a little state in
the Redis the web processes share (mailboxes.mailcache.live), refreshed by each open page's
poll (every 2 s) and forgotten PRESENCE_SECONDS after the last one."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

from mailboxes.mailcache import live
from mailboxes.models import User

PRESENCE_SECONDS = 6  # three missed polls: the page was closed


@dataclass(frozen=True)
class Presence:
    person_id: int
    name: str
    writing: bool


def _key(mailbox_id: int, thread_key: str) -> str:
    digest = hashlib.sha256(thread_key.encode()).hexdigest()[:24]  # no Message-ID in Redis keys
    return f"webmail:presence:{mailbox_id}:{digest}"


def touch(mailbox_id: int, thread_key: str, person: User, *, writing: bool) -> None:
    """The person has the conversation open now, writing a reply or only reading it. One
    field per person and way: their reading tab must not hide the reply they write in
    another."""
    key = _key(mailbox_id, thread_key)
    value = json.dumps({"name": str(person), "at": time.time()})
    connection = live.client()
    connection.hset(key, f"{person.pk}:{'w' if writing else 'r'}", value)
    connection.expire(key, PRESENCE_SECONDS * 10)


def leave(mailbox_id: int, thread_key: str, person: User) -> None:
    live.client().hdel(_key(mailbox_id, thread_key), f"{person.pk}:r", f"{person.pk}:w")


def others(mailbox_id: int, thread_key: str, person: User) -> list[Presence]:
    """Everyone else there in the last PRESENCE_SECONDS, by name; writing if any of their
    pages is a reply being written."""
    now = time.time()
    found: dict[int, Presence] = {}
    raw: dict[bytes, bytes] = live.client().hgetall(_key(mailbox_id, thread_key))  # type: ignore[assignment]
    for field, value in raw.items():
        member, _, way = field.decode().partition(":")
        data = json.loads(value)
        if int(member) == person.pk or now - float(data["at"]) >= PRESENCE_SECONDS:
            continue
        writing = way == "w" or (int(member) in found and found[int(member)].writing)
        found[int(member)] = Presence(int(member), str(data["name"]), writing)
    return sorted(found.values(), key=lambda p: (p.name, p.person_id))


def digest(present: list[Presence]) -> str:
    """What a page last showed of the others, to redraw only when it changed."""
    shown = ",".join(f"{p.person_id}:{int(p.writing)}" for p in present)
    return hashlib.sha256(shown.encode()).hexdigest()[:12]
