"""The open list's event stream: Server-Sent Events (the HTML standard's EventSource), one
long-lived response per tab, fed by the mailbox's Redis channel (mailboxes.mailcache.live).

What a stream says, and only this (no subject, no sender: the page asks `changes` for that,
through every check of an ordinary request):
- `retry:` first, the reconnection delay (with jitter: a restarted server is not hit by
  every tab in the same millisecond);
- `changed`, with the mailbox's version as its id, when the version moved (on connection
  too, when the page's version, or the Last-Event-ID of a reconnection, is behind);
- `progress` when a running sync moved on (the page shows its progress), with the same id;
- `triage` when something an open conversation page shows changed (its triage state, who is
  viewing it or writing a reply), its data the conversation's opaque id
  (triage.presence.thread_id) and no event id: the page showing that conversation asks its
  live panel anew, the others ignore it (the mailbox's version, the catch-up id, is not
  this event's);
- a comment every heartbeat, which also keeps the mailbox watched and synced
  (mailboxes.actions.syncing.keep_fresh), as the 2-s poll did;
- nothing more once the session must be checked again (`Opened.until`), or the person lost
  the right to read the mailbox (their delegation revoked: the domain's delegation_changed
  signal, published on the channel): the stream ends and the reconnection is refused.

Two ways to serve it, chosen per request (webmail/views/events.py): under ASGI (uvicorn, the
events server of deploy/) an async generator on one shared Redis subscription per process
(`Hub`), holding no thread; under threaded WSGI (`manage.py runserver`, the demo, the test
live server) a plain generator with its own subscription, which holds the thread. Django
would otherwise buffer the whole of a stream of the other kind (StreamingHttpResponse
consumes an async iterator into a list under WSGI, and a sync one under ASGI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, ClassVar

import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from mailboxes import access
from mailboxes.access import Action
from mailboxes.actions import syncing
from mailboxes.mailcache import live
from mailboxes.models import Mailbox, User
from webmail.auth import session

logger = logging.getLogger(__name__)

HEARTBEAT = b": heartbeat\n\n"
LOST = b"lost"  # put in a stream's queue by the Hub when its Redis connection failed
RESUBSCRIBED = b"resubscribed"  # the Hub reconnected: what came meanwhile was not heard
QUEUE_SIZE = 64  # notices a slow stream may have waiting; more are dropped (it redraws anyway)
MIN_SECONDS = 10.0  # a stream lasts at least this long (a session's check just falling due)
RESUBSCRIBE_TRIES = 3  # the Hub's subscription lost: tries in a row before the streams end


@dataclass
class Opened:
    """A stream the view allowed: whose (which session), on what, what the page has seen,
    until when (time.time()): the session's next check, read again at every heartbeat, and
    the delegation's expiry, if the access comes from one that expires."""

    user: User
    mailbox: Mailbox
    seen: int | None  # the version the page shows (None: unknown, tell it the current one)
    session_key: str
    until: float
    expires: float | None = None

    @property
    def token(self) -> str:
        return session.token(self.session_key)

    def deadline(self) -> float:
        return self.until if self.expires is None else min(self.until, self.expires)


def frame(event: str, version: int) -> bytes:
    return f"id: {version}\nevent: {event}\ndata: {version}\n\n".encode()


@dataclass
class Stream:
    """What a stream sends, whatever serves it: no I/O here. `now` is time.monotonic()."""

    opened: Opened
    version: int
    now: float
    ended: bool = False
    beat_at: float = field(init=False)
    end_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.beat_at = self.now + settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS
        self.end_at = self._end_at(self.now)

    def _end_at(self, now: float) -> float:
        """At the deadline, within WEBMAIL_EVENTS_MAX_SECONDS and MIN_SECONDS of the start."""
        due = now + self.opened.deadline() - time.time()
        latest = self.now + settings.WEBMAIL_EVENTS_MAX_SECONDS
        return max(min(due, latest), self.now + MIN_SECONDS)

    def opening(self) -> bytes:
        retry = settings.WEBMAIL_EVENTS_RETRY_MS
        head = f"retry: {retry + secrets.randbelow(retry // 2 + 1)}\n\n".encode()
        if self.opened.seen != self.version:  # behind (or a fresh page): catch up at once
            head += frame("changed", self.version)
        return head

    def wait(self, now: float) -> float:
        """Seconds to wait for a notice; 0: the stream is over."""
        if self.ended or now >= self.end_at:
            return 0.0
        return max(min(self.beat_at, self.end_at) - now, 0.01)

    def beat(self, now: float) -> bool:
        """Whether a heartbeat is due now (then the next one is scheduled)."""
        if now < self.beat_at:
            return False
        self.beat_at = now + settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS
        return True

    def renew(self, until: float | None, now: float) -> None:
        """The session read again at a heartbeat: its next check (None: it is gone). The
        person's activity elsewhere moves it later; an ended or idle session ends this."""
        if until is None:
            self.ended = True
            return
        self.opened.until = until
        self.end_at = self._end_at(now)
        self.ended = now >= self.end_at

    def ask(self) -> bytes:
        """Tell the page to ask `changes` (it syncs a mailbox only the person can reach)."""
        return frame("progress", self.version)

    def take(self, data: bytes) -> tuple[bytes, bool]:
        """A notice from the channel -> (what to send, whether access must be checked again)."""
        notice = live.notice(data)
        if notice is None:
            return b"", False
        if notice.kind == "version":
            if notice.value <= self.version:
                return b"", False  # older than what was sent (a reconnection's catch-up)
            self.version = notice.value
            return frame("changed", self.version), False
        if notice.kind == "sync":
            return frame("progress", self.version), False
        if notice.kind == "conversation":
            return f"event: triage\ndata: {notice.token}\n\n".encode(), False
        if notice.kind == "end":
            self.ended = notice.token == self.opened.token  # this session logged out
            return b"", False
        return b"", notice.value == self.opened.user.pk  # access: theirs changed?


def heartbeat(opened: Opened) -> tuple[bool, float | None]:
    """At each heartbeat, Redis only (no database): the mailbox kept watched and synced
    (False: the page must ask, see Stream.ask), and the session read again: when it must be
    checked next, None when it is gone (logged out elsewhere, ended by PSC's logout)."""
    fresh = syncing.keep_fresh(opened.mailbox)
    store = import_module(settings.SESSION_ENGINE).SessionStore  # Redis: no database
    data = store(opened.session_key).load()
    return fresh, session.next_check(data) if data else None


def wants_stream(request: HttpRequest) -> bool:
    """An EventSource asking (it always sends this Accept)."""
    return "text/event-stream" in request.headers.get("Accept", "")


def ended(url: str) -> HttpResponse:
    """The answer to a stream whose session ended: an `ended` event naming the page to go
    to (static/js/live.js follows it), then the end; the browser would otherwise reconnect."""
    body = f"retry: 3600000\nevent: ended\ndata: {url}\n\n"
    response = HttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    return response


def may_still_read(opened: Opened) -> bool:
    """Checked again when the person's delegation changed (their right may be gone)."""
    try:
        return access.can(opened.user, Action.READ, opened.mailbox)
    finally:
        release_database()


def release_database() -> None:
    """A stream holds no database connection while it waits (a thousand open tabs would be
    a thousand PostgreSQL connections). Not inside a transaction: a test's own."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


# --- Threaded WSGI (runserver, the demo): a generator holding its thread --------------------


def sync_stream(opened: Opened) -> Iterator[bytes]:
    pubsub = live.client().pubsub()  # type: ignore[no-untyped-call]  # untyped upstream
    try:
        pubsub.subscribe(live.channel(opened.mailbox.pk))
        _confirmed(pubsub)  # subscribed before the version is read: nothing slips between
        stream = Stream(opened, live.version(opened.mailbox.pk), time.monotonic())
        release_database()  # the request's own, opened by its middleware
        yield stream.opening()
        while (wait := stream.wait(time.monotonic())) > 0:
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            if message is None:
                if stream.beat(time.monotonic()):
                    fresh, until = heartbeat(opened)
                    stream.renew(until, time.monotonic())
                    if not stream.ended:
                        yield HEARTBEAT if fresh else stream.ask()
                continue
            out, check = stream.take(message["data"])
            if check and not may_still_read(opened):
                return
            if out:
                yield out
    finally:
        pubsub.close()


def _confirmed(pubsub: redis.client.PubSub) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1)
        if message and message["type"] == "subscribe":
            return
    raise redis.TimeoutError("no subscription confirmation")


# --- ASGI (the events server): one Redis subscription per process, no thread per stream ----


class Hub:
    """One pub/sub connection per event loop for every stream it serves: a channel is
    subscribed while some stream listens to it, and the connection is closed when none
    does. Each stream gets its notices in its own queue."""

    _hubs: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def here(cls) -> Hub:
        loop = asyncio.get_running_loop()
        if (hub := cls._hubs.get(loop)) is None:
            hub = cls._hubs[loop] = cls()
        return hub

    def __init__(self) -> None:
        self.redis: redis.asyncio.Redis | None = None
        self.pubsub: Any = None  # redis.asyncio.client.PubSub (untyped upstream)
        self.reader: asyncio.Task[None] | None = None
        self.queues: dict[str, set[asyncio.Queue[bytes]]] = {}
        self.confirmed: dict[str, asyncio.Future[None]] = {}
        self.lock = asyncio.Lock()

    async def join(self, channel: str) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        async with self.lock:
            if self.pubsub is None:
                self.redis = redis.asyncio.Redis.from_url(
                    settings.REDIS_URL, client_name=f"webmail-events-{os.getpid()}"
                )
                self.pubsub = self.redis.pubsub()
            self.queues.setdefault(channel, set()).add(queue)
            confirmed = self.confirmed.get(channel)
            if confirmed is None:
                confirmed = self.confirmed[channel] = asyncio.get_running_loop().create_future()
                try:
                    await self.pubsub.subscribe(channel)
                except Exception:
                    await self._drop(channel, queue)
                    raise
            if self.reader is None:
                self.reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), 5)
        except BaseException:
            await self.leave(channel, queue)
            raise
        return queue

    async def leave(self, channel: str, queue: asyncio.Queue[bytes]) -> None:
        async with self.lock:
            await self._drop(channel, queue)

    async def version(self, mailbox_id: int) -> int:
        """The mailbox's version now (a stream that joined: the connection is open)."""
        if self.redis is None:
            raise redis.ConnectionError("the hub's connection is closed")
        return int(await self.redis.get(live.version_key(mailbox_id)) or 0)

    async def _drop(self, channel: str, queue: asyncio.Queue[bytes]) -> None:
        listeners = self.queues.get(channel, set())
        listeners.discard(queue)
        if listeners:
            return
        self.queues.pop(channel, None)
        self.confirmed.pop(channel, None)
        if self.queues:
            with contextlib.suppress(redis.RedisError, OSError):
                await self.pubsub.unsubscribe(channel)
            return
        await self._close()

    async def _close(self) -> None:
        reader, pubsub, connection = self.reader, self.pubsub, self.redis
        self.reader = self.pubsub = self.redis = None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        with contextlib.suppress(redis.RedisError, OSError, RuntimeError):
            if pubsub is not None:
                await pubsub.aclose()
            if connection is not None:
                await connection.aclose()

    async def _read(self) -> None:
        failures = 0
        while True:
            try:
                message = await self.pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                logger.warning("live notices: subscription lost (%s)", type(exc).__name__)
                if failures > RESUBSCRIBE_TRIES or not await self._resubscribe():
                    await self._lost()
                    return
                await asyncio.sleep(0.1 * failures)
                continue
            failures = 0
            if message is not None:
                self._dispatch(message)

    async def _resubscribe(self) -> bool:
        """A new connection with the same channels; their confirmations tell each stream to
        read its version again (RESUBSCRIBED): what was published meanwhile is not lost."""
        async with self.lock:
            if self.redis is None or not self.queues:
                return False
            with contextlib.suppress(redis.RedisError, OSError, RuntimeError):
                await self.pubsub.aclose()
            self.pubsub = self.redis.pubsub()
            try:
                await self.pubsub.subscribe(*self.queues)
            except (redis.RedisError, OSError):
                return False
        return True

    async def _lost(self) -> None:
        """Redis cannot be reached: every stream ends, and its browser reconnects later."""
        logger.warning("live notices lost: the streams end")
        async with self.lock:
            for listeners in self.queues.values():
                _offer(listeners, LOST)
            self.queues.clear()
            self.confirmed.clear()
            await self._close()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] not in ("message", "subscribe"):
            return
        channel = message["channel"].decode()
        if message["type"] == "message":
            _offer(self.queues.get(channel, set()), message["data"])
            return
        confirmed = self.confirmed.get(channel)
        if confirmed is None:
            return
        if confirmed.done():  # again: subscribed anew after a lost connection
            _offer(self.queues.get(channel, set()), RESUBSCRIBED)
        else:
            confirmed.set_result(None)


def _offer(queues: set[asyncio.Queue[bytes]], data: bytes) -> None:
    for queue in queues:
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(data)


async def async_stream(opened: Opened) -> AsyncIterator[bytes]:
    hub, channel = Hub.here(), live.channel(opened.mailbox.pk)
    queue = await hub.join(channel)
    try:
        stream = Stream(opened, await hub.version(opened.mailbox.pk), time.monotonic())
        await _in_thread(release_database)  # the request's own, opened by its middleware
        yield stream.opening()
        while (wait := stream.wait(time.monotonic())) > 0:
            try:
                data = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if stream.beat(time.monotonic()):
                    fresh, until = await _in_pool(heartbeat, opened)
                    stream.renew(until, time.monotonic())
                    if not stream.ended:
                        yield HEARTBEAT if fresh else stream.ask()
                continue
            if data == LOST:
                return
            if data == RESUBSCRIBED:
                data = f"v:{await hub.version(opened.mailbox.pk)}".encode()
            out, check = stream.take(data)
            if check and not await _in_thread(may_still_read, opened):
                return
            if out:
                yield out
    finally:
        await hub.leave(channel, queue)


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """In the request's own thread: where its database connection lives (and is closed)."""
    return await sync_to_async(function)(*args)


async def _in_pool(function: Callable[..., Any], *args: Any) -> Any:
    """In any worker thread: Redis and the broker only, no database."""
    return await sync_to_async(function, thread_sensitive=False)(*args)
