"""The open list's event stream on the real events server (uvicorn running webmail.asgi, as
deploy/ runs it) and in headless Chromium: a tab learns of new mail without polling, keeps
doing so after the events server restarts, and falls back to its slow poll when the stream
cannot be reached. The threaded-WSGI side of the same stream: tests/webmail/test_events.py."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
import requests
from django.db import connection
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page
from pytest_django import Settings

from mailboxes.actions.delegations import do_grant_delegation, do_revoke_delegation
from mailboxes.mailcache import live
from mailboxes.models import Mailbox, User
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, events_server, free_port, synced

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"


@pytest.fixture
def asgi_url() -> Iterator[str]:
    with events_server(free_port()) as url:
        yield url


@pytest.fixture
def async_safety(monkeypatch: pytest.MonkeyPatch) -> None:
    """Django's guard on again (the browser tests turn it off for Playwright's loop): a
    database call made from the events server's event loop raises, and the stream fails."""
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)


class Events:
    """A minimal EventSource over requests: the frames, as they come."""

    def __init__(self, url: str, session_key: str, **headers: str) -> None:
        self.answer = requests.get(
            url, cookies={"sessionid": session_key}, headers=headers, stream=True, timeout=10
        )
        self.chunks = self.answer.iter_content(chunk_size=None)
        self.buffer = b""

    def next(self) -> bytes | None:
        """The next frame (event or comment), or None when the server ended the stream."""
        while b"\n\n" not in self.buffer:
            chunk = next(self.chunks, None)
            if chunk is None:
                return None
            self.buffer += chunk
        frame, self.buffer = self.buffer.split(b"\n\n", 1)
        return frame + b"\n\n"

    def close(self) -> None:
        self.answer.close()


def other_sessions() -> list[tuple[int, str]]:
    """PostgreSQL's sessions on the test database besides the test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return list(cursor.fetchall())


def session_of(user: User) -> str:
    return str(client_for(user).cookies["sessionid"].value)


def events_url(base: str, mailbox: Mailbox) -> str:
    return base + reverse("mail-events", args=[mailbox.pk])


def test_the_events_server_streams_catches_up_and_refuses_a_stranger(
    asgi_url: str, async_safety: None, marie: User, karim: User, marie_mailbox: Mailbox,
    settings: Settings,
) -> None:  # fmt: skip
    settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS = 1
    url = events_url(asgi_url, marie_mailbox)
    assert (
        requests.get(url, cookies={"sessionid": session_of(karim)}, timeout=10).status_code == 404
    )
    missed = live.version(marie_mailbox.pk)
    live.bump(marie_mailbox.pk)
    events = Events(url, session_of(marie), **{"Last-Event-ID": str(missed)})
    try:
        assert events.answer.status_code == 200
        assert events.answer.headers["Content-Type"] == "text/event-stream"
        assert (events.next() or b"").startswith(b"retry: ")
        assert events.next() == f"id: {missed + 1}\nevent: changed\ndata: {missed + 1}\n\n".encode()
        assert other_sessions() == []  # an open stream holds no database connection
        version = live.bump(marie_mailbox.pk)
        assert events.next() == f"id: {version}\nevent: changed\ndata: {version}\n\n".encode()
        live.conversation_changed(marie_mailbox.pk, "ab" * 12)  # a conversation's pages
        assert events.next() == b"event: triage\ndata: " + b"ab" * 12 + b"\n\n"
        assert events.next() == b": heartbeat\n\n"
    finally:
        events.close()


def test_a_revoked_delegate_s_stream_ends_and_the_reconnection_is_refused(
    asgi_url: str, async_safety: None, marie: User, karim: User, marie_mailbox: Mailbox
) -> None:
    delegation = do_grant_delegation(marie, marie_mailbox, karim, "reader")
    key = session_of(karim)
    events = Events(events_url(asgi_url, marie_mailbox), key)
    try:
        assert (events.next() or b"").startswith(b"retry: ")
        assert b"event: changed" in (events.next() or b"")  # no version given: the current one
        started = time.monotonic()
        do_revoke_delegation(marie, delegation)
        assert events.next() is None  # the server ended it
        assert time.monotonic() - started < 5  # at once, not at the next reconnection
    finally:
        events.close()
    url = events_url(asgi_url, marie_mailbox)
    assert requests.get(url, cookies={"sessionid": key}, timeout=10).status_code == 404


def test_a_stream_hears_what_came_while_its_server_s_redis_connection_was_cut(
    asgi_url: str, async_safety: None, marie: User, marie_mailbox: Mailbox
) -> None:
    """The events server's one subscription (webmail.push.Hub) dropped by Redis: redis-py
    connects and subscribes again, and each stream reads the version anew, so a change made
    in between is not lost."""
    version = live.version(marie_mailbox.pk)
    events = Events(
        events_url(asgi_url, marie_mailbox), session_of(marie), **{"Last-Event-ID": str(version)}
    )
    try:
        assert (events.next() or b"").startswith(b"retry: ")
        redis = live.client()
        name = f"webmail-events-{os.getpid()}"
        hubs = [c["id"] for c in redis.client_list() if c["name"] == name and c["sub"] != "0"]
        assert len(hubs) == 1
        redis.client_kill_filter(_id=hubs[0])
        moved = live.bump(marie_mailbox.pk)  # while nobody listens
        assert events.next() == f"id: {moved}\nevent: changed\ndata: {moved}\n\n".encode()
    finally:
        events.close()


# --- In Chromium ---------------------------------------------------------------------------


def tab(chromium: Browser, base: str, mailbox: Mailbox) -> tuple[BrowserContext, Page, list[str]]:
    """The mailbox's list open in a tab; the list's own requests to the server recorded."""
    context = chromium.new_context(locale="fr-FR")
    context.add_cookies([{"name": "sessionid", "value": session_of(mailbox.owner), "url": base}])  # type: ignore[arg-type]
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/changes/" in r.url else None)
    page.goto(f"{base}/mailbox/{mailbox.pk}/")
    return context, page, asked


def arrives(page: Page, mailbox: Mailbox, subject: str, seconds: float = 5) -> float:
    """Postfix delivers a message, the cache syncs it (as the worker would, told by IDLE):
    seconds until the open list shows it, without a reload."""
    subject = f"{subject} {uuid.uuid4().hex[:8]}"  # the operator keeps earlier runs' mail
    message = EmailMessage()
    message["Subject"] = subject
    message.set_content("Nouveau")
    deliver_to(mailbox, message)
    started = time.monotonic()
    synced(mailbox)
    page.get_by_text(subject).wait_for(timeout=seconds * 1000)
    return time.monotonic() - started


# WhiteNoise's static files are sync iterators, which Django's ASGI handler reads whole: only
# here, where the events server also serves the page's scripts (behind the proxy it never does).
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
def test_a_tab_learns_of_new_mail_and_reconnects_after_the_events_server_restarts(
    chromium: Browser, directory: dict[str, Mailbox]
) -> None:
    mailbox = directory[JEANNE]
    synced(mailbox)
    port = free_port()
    with events_server(port) as base:
        context, page, asked = tab(chromium, base, mailbox)
        page.wait_for_timeout(2500)
        assert asked == []  # idle: no poll
        assert arrives(page, mailbox, "Poussé sans recharger") < 5
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    page.wait_for_timeout(500)  # the events server is down: the tab's stream is cut
    with events_server(port):
        assert arrives(page, mailbox, "Après le redémarrage", seconds=10)  # reconnected
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
        context.close()


def test_the_slow_poll_takes_over_when_the_events_endpoint_is_unreachable(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], settings: Settings
) -> None:
    settings.WEBMAIL_LIVE_FALLBACK_SECONDS = 1
    mailbox = directory[JEANNE]
    synced(mailbox)
    context = chromium.new_context(locale="fr-FR")
    context.route("**/events/**", lambda route: route.abort("connectionrefused"))
    context.add_cookies(
        [{"name": "sessionid", "value": session_of(mailbox.owner), "url": live_url}]
    )  # type: ignore[arg-type]
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/changes/" in r.url else None)
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    assert arrives(page, mailbox, "Par le relevé lent", seconds=10)
    assert asked  # through `changes`, on the fallback's clock
    context.close()
