"""Who else has a conversation open, and who is writing a reply to it: a little state in
the Redis the web processes share (mailboxes.mailcache.live), one stamp per open page (a
person may have the conversation and their reply open at once, in two tabs or one after
the other: one page leaving must not hide the other).

Being there is being asked: an open page asks its live panel at least every
HEARTBEAT_SECONDS (static/js/triage_live.js) and is forgotten PRESENCE_SECONDS after its
last ask. It says when it leaves (hidden, closed, navigated away: a beacon, `leave`), so
the others usually see it go at once; the expiry is for a page that could not say so (a
crash, a lost network), and is noticed by the next page to ask (`visit` prunes it). A page
that left stays left (a `gone` mark, for PRESENCE_SECONDS): an ask of its still in flight
when it went (its own change's redraw, as it navigates) must not bring it back; a page
shown again takes a new id.
Writing is typing in a reply: the composer says so on input, at most every
TYPING_THROTTLE_MS, and that it stopped after TYPING_SECONDS without a key; a writing
stamp older than that counts for nothing (a composer that could not say it stopped).

Every change of what the others see (someone arrives, leaves, starts or stops writing) is
announced on the mailbox's channel (`announce`), as a change of the conversation's triage
state is (triage.actions): the pages open on that conversation redraw, the others ignore
it. Nothing is announced when nothing visible changed (a heartbeat of a page already there).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass

import redis
from django.utils.crypto import salted_hmac
from redis.commands.core import Script

from mailboxes.mailcache import live
from mailboxes.models import User

# An idle page asks every HEARTBEAT_SECONDS only to say it is still there (its redraws come
# over the event stream): 2.4 requests a minute where the 2-s poll made 30. Why 25 s: the
# event stream's own heartbeat rhythm (WEBMAIL_EVENTS_HEARTBEAT_SECONDS), and a page that
# vanished without its beacon is gone from the others within PRESENCE_SECONDS plus one
# heartbeat of theirs (about a minute), while leaving normally shows at once.
HEARTBEAT_SECONDS = 25
PRESENCE_SECONDS = 35  # one heartbeat, and room for a slow answer or a late timer
TYPING_SECONDS = 5  # a pause in typing longer than this is no longer writing
TYPING_THROTTLE_MS = 1500  # static/js/typing.js: one "typing" per this while keys go on
KEEP_SECONDS = PRESENCE_SECONDS * 10  # the whole hash, once nobody is there any more
PAGE = re.compile(r"^[0-9a-f]{16}$")
READING, WRITING, GONE = "r", "w", "x"
# Stamp the page unless it left (atomic: a leave cannot fall between the look and the
# stamp); everything there before, for the caller to compare.
_VISIT = """
local before = redis.call('HGETALL', KEYS[1])
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return before
"""


@dataclass(frozen=True)
class Presence:
    person_id: int
    name: str
    writing: bool


@dataclass(frozen=True)
class Stamp:
    """One page's stamp: `person:way:page` -> {"name", "at"}."""

    field: str
    person_id: int
    way: str
    name: str
    at: float

    def fresh(self, now: float) -> bool:
        return now - self.at < (TYPING_SECONDS if self.way == WRITING else PRESENCE_SECONDS)

    def shown(self, now: float) -> bool:
        """Whether the others see it (a gone mark is no presence)."""
        return self.way != GONE and self.fresh(now)


def thread_id(mailbox_id: int, thread_key: str) -> str:
    """The conversation's opaque id, in Redis keys and on the event stream: a keyed hash, so
    that neither says which Message-ID it is."""
    return salted_hmac("triage presence", f"{mailbox_id}:{thread_key}").hexdigest()[:24]


def _key(mailbox_id: int, thread_key: str) -> str:
    return f"webmail:presence:{mailbox_id}:{thread_id(mailbox_id, thread_key)}"


def _field(person: User, way: str, page: str) -> str:
    return f"{person.pk}:{way}:{page}"


def _stamps(raw: dict[bytes, bytes]) -> list[Stamp]:
    stamps = []
    for field, value in raw.items():
        member, _, rest = field.decode().partition(":")
        if member.isdigit():
            data = json.loads(value)
            way = rest.partition(":")[0]
            stamps.append(Stamp(field.decode(), int(member), way, str(data["name"]), data["at"]))
    return stamps


def _seen(stamps: list[Stamp], now: float) -> dict[int, Presence]:
    """What the others see of everyone: there if a page of theirs is fresh, writing if one
    of their composers is."""
    found: dict[int, Presence] = {}
    for stamp in stamps:
        if not stamp.shown(now):
            continue
        known = found.get(stamp.person_id)
        writing = stamp.way == WRITING or (known is not None and known.writing)
        found[stamp.person_id] = Presence(stamp.person_id, stamp.name, writing)
    return found


def new_page() -> str:
    """The id of a page just drawn: its stamps are its own."""
    return secrets.token_hex(8)


def visit(
    mailbox_id: int, thread_key: str, person: User, page: str, way: str = READING
) -> list[Presence]:
    """The page is there (READING: a conversation or a reply page asking its panel) or its
    person is typing in it (WRITING), unless it left. Stamps past their life are removed on
    the way; the others are told when what they see changed. Returns everyone else there."""
    key, now = _key(mailbox_id, thread_key), time.time()
    field = _field(person, way, page)
    connection = live.client()
    value = json.dumps({"name": str(person), "at": now})
    flat = _visit_script(connection)(
        keys=[key], args=[field, value, _field(person, GONE, page), KEEP_SECONDS]
    )
    before = _stamps(dict(zip(flat[::2], flat[1::2], strict=True)))
    gone = any(s.field == _field(person, GONE, page) for s in before)
    stale = [s for s in before if not s.fresh(now) and s.field != field]
    pruned = connection.hdel(key, *(s.field for s in stale)) if stale else 0
    after = [s for s in before if s.field != field and s not in stale]
    if not gone:
        after.append(Stamp(field, person.pk, way, str(person), now))
    seen = _seen(after, now)
    shown_pruned = pruned and any(s.way != GONE for s in stale)
    if shown_pruned or _seen(before, now).get(person.pk) != seen.get(person.pk):
        announce(mailbox_id, thread_key)
    seen.pop(person.pk, None)
    return sorted(seen.values(), key=lambda p: (p.name, p.person_id))


@functools.cache
def _visit_script(connection: redis.Redis) -> Script:
    return connection.register_script(_VISIT)


def touch(mailbox_id: int, thread_key: str, person: User, page: str) -> list[Presence]:
    """The person has the conversation open now on this page (a conversation or a reply);
    returns everyone else there."""
    return visit(mailbox_id, thread_key, person, page, READING)


def typing(mailbox_id: int, thread_key: str, person: User, page: str) -> None:
    """The person is typing a reply to the conversation now, on this page. A stamp of its
    own: their reading tab's heartbeats must not hide the reply they type in another."""
    visit(mailbox_id, thread_key, person, page, WRITING)


def stopped_typing(mailbox_id: int, thread_key: str, person: User, page: str) -> None:
    """The composer on this page has had no key for TYPING_SECONDS: only viewing now."""
    _forget(mailbox_id, thread_key, [_field(person, WRITING, page)])


def leave(mailbox_id: int, thread_key: str, person: User, page: str) -> None:
    """The page was closed, hidden or left: the others no longer see it (nor its writing),
    and a late ask of its own does not bring it back (marked gone first, then forgotten:
    a visit in between finds the mark, or is undone)."""
    key = _key(mailbox_id, thread_key)
    with live.client().pipeline() as pipe:  # MULTI: in this order, nothing between
        pipe.hset(key, _field(person, GONE, page), json.dumps({"name": "", "at": time.time()}))
        pipe.hdel(key, *(_field(person, way, page) for way in (READING, WRITING)))
        pipe.expire(key, KEEP_SECONDS)
        _, forgotten, _ = pipe.execute()
    if forgotten:
        announce(mailbox_id, thread_key)


def _forget(mailbox_id: int, thread_key: str, fields: list[str]) -> None:
    if live.client().hdel(_key(mailbox_id, thread_key), *fields):
        announce(mailbox_id, thread_key)


def forget_all(mailbox_id: int, thread_key: str) -> None:
    """Nobody is there (tests: Redis outlives their databases)."""
    live.client().delete(_key(mailbox_id, thread_key))


def announce(mailbox_id: int, thread_key: str) -> None:
    """Tell the pages open on the conversation that what they show changed."""
    live.conversation_changed(mailbox_id, thread_id(mailbox_id, thread_key))


def others(mailbox_id: int, thread_key: str, person: User) -> list[Presence]:
    """Everyone else there (a fresh page), by name; writing if they typed in a reply in the
    last TYPING_SECONDS and did not say they stopped."""
    raw: dict[bytes, bytes] = live.client().hgetall(_key(mailbox_id, thread_key))  # type: ignore[assignment]
    seen = _seen(_stamps(raw), time.time())
    seen.pop(person.pk, None)
    return sorted(seen.values(), key=lambda p: (p.name, p.person_id))


def digest(present: list[Presence]) -> str:
    """What a page last showed of the others, to redraw only when it changed."""
    shown = ",".join(f"{p.person_id}:{int(p.writing)}" for p in present)
    return hashlib.sha256(shown.encode()).hexdigest()[:12]
