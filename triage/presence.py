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
    """The person has the conversation open now (writing a reply, or only reading it)."""
    key = _key(mailbox_id, thread_key)
    value = json.dumps({"name": str(person), "writing": writing, "at": time.time()})
    connection = live.client()
    connection.hset(key, str(person.pk), value)
    connection.expire(key, PRESENCE_SECONDS * 10)


def leave(mailbox_id: int, thread_key: str, person: User) -> None:
    live.client().hdel(_key(mailbox_id, thread_key), str(person.pk))


def others(mailbox_id: int, thread_key: str, person: User) -> list[Presence]:
    """Everyone else there in the last PRESENCE_SECONDS, by name."""
    found = []
    now = time.time()
    raw: dict[bytes, bytes] = live.client().hgetall(_key(mailbox_id, thread_key))  # type: ignore[assignment]
    for member, value in raw.items():
        data = json.loads(value)
        if int(member) != person.pk and now - float(data["at"]) < PRESENCE_SECONDS:
            found.append(Presence(int(member), str(data["name"]), bool(data["writing"])))
    return sorted(found, key=lambda p: (p.name, p.person_id))


def digest(present: list[Presence]) -> str:
    """What a page last showed of the others, to redraw only when it changed."""
    shown = ",".join(f"{p.person_id}:{int(p.writing)}" for p in present)
    return hashlib.sha256(shown.encode()).hexdigest()[:12]
