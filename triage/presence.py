"""Who else has a conversation open, and who is writing a reply to it: a little state in
the Redis the web processes share (mailboxes.mailcache.live). Being there is refreshed by
each open page's poll (every 2 s) and forgotten PRESENCE_SECONDS after the last one; writing
is typing in a reply (the composer says so on input, at most every TYPING_THROTTLE_MS), and
lasts TYPING_SECONDS after the last keystroke: a reply page left open is only viewing."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

from mailboxes.mailcache import live
from mailboxes.models import User

PRESENCE_SECONDS = 6  # three missed polls: the page was closed
TYPING_SECONDS = 5  # a pause in typing longer than this is no longer writing
TYPING_THROTTLE_MS = 1500  # static/js/typing.js: one "typing" per this while keys go on


@dataclass(frozen=True)
class Presence:
    person_id: int
    name: str
    writing: bool


def _key(mailbox_id: int, thread_key: str) -> str:
    digest = hashlib.sha256(thread_key.encode()).hexdigest()[:24]  # no Message-ID in Redis keys
    return f"webmail:presence:{mailbox_id}:{digest}"


def touch(mailbox_id: int, thread_key: str, person: User) -> None:
    """The person has the conversation open now (a conversation page or a reply page)."""
    _stamp(mailbox_id, thread_key, person, "r")


def typing(mailbox_id: int, thread_key: str, person: User) -> None:
    """The person is typing a reply to the conversation now. A field of its own: their
    reading tab's polls must not hide the reply they type in another."""
    _stamp(mailbox_id, thread_key, person, "w")


def _stamp(mailbox_id: int, thread_key: str, person: User, way: str) -> None:
    key = _key(mailbox_id, thread_key)
    value = json.dumps({"name": str(person), "at": time.time()})
    connection = live.client()
    connection.hset(key, f"{person.pk}:{way}", value)
    connection.expire(key, PRESENCE_SECONDS * 10)


def leave(mailbox_id: int, thread_key: str, person: User) -> None:
    live.client().hdel(_key(mailbox_id, thread_key), f"{person.pk}:r", f"{person.pk}:w")


def others(mailbox_id: int, thread_key: str, person: User) -> list[Presence]:
    """Everyone else there in the last PRESENCE_SECONDS, by name; writing if they typed in
    a reply in the last TYPING_SECONDS."""
    now = time.time()
    found: dict[int, Presence] = {}
    raw: dict[bytes, bytes] = live.client().hgetall(_key(mailbox_id, thread_key))  # type: ignore[assignment]
    for field, value in raw.items():
        member, _, way = field.decode().partition(":")
        data = json.loads(value)
        age = now - float(data["at"])
        writing = way == "w" and age < TYPING_SECONDS
        if int(member) == person.pk or (age >= PRESENCE_SECONDS and not writing):
            continue
        writing = writing or (int(member) in found and found[int(member)].writing)
        found[int(member)] = Presence(int(member), str(data["name"]), writing)
    return sorted(found.values(), key=lambda p: (p.name, p.person_id))


def digest(present: list[Presence]) -> str:
    """What a page last showed of the others, to redraw only when it changed."""
    shown = ",".join(f"{p.person_id}:{int(p.writing)}" for p in present)
    return hashlib.sha256(shown.encode()).hexdigest()[:12]
