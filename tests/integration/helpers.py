"""Helpers shared by the integration tests (real services only)."""

from __future__ import annotations

import os
import re
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import requests
import uvicorn
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.cache import SessionStore

from mailboxes.errors import OperatorUnavailable
from mailboxes.mailcache.watcher import Watcher
from mailboxes.models import Mailbox
from mailboxes.operator.imap import imap_session
from mailboxes.operator.strategies import smtp_login

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.conftest import OperatorBackend

ACCOUNTS = {
    "marie": "f:3c8e8f0a-2b51-4c1e-9d3e-5b1f1c0d7a11:810101234567",
    "karim": "f:7d1e2c44-90ab-4f6e-8a21-0c9b7e3f5d22:810107654321",
}


def psc_login(
    live_url: str, who: str, acr: str = "eidas1"
) -> tuple[requests.Session, requests.Response]:
    """Log in through the real look-alike provider, as a browser would (redirects, forms)."""
    session = requests.Session()
    page = session.get(f"{live_url}/oidc/authenticate/", timeout=10)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, "the provider did not show its login form"
    provider = re.match(r"https?://[^/]+", page.url).group(0)  # type: ignore[union-attr]
    answer = session.post(
        provider + action.group(1), data={"account": ACCOUNTS[who], "acr": acr}, timeout=10
    )
    return session, answer


def uid_of(mailbox: Mailbox, message_id: str, folder: str = "INBOX") -> int:
    with imap_session(mailbox) as client:
        client.select_folder(folder, readonly=True)
        [uid] = client.search(["HEADER", "Message-ID", message_id])
    return int(uid)


def flags_of(mailbox: Mailbox, uid: int, folder: str = "INBOX") -> tuple[bytes, ...]:
    with imap_session(mailbox) as client:
        client.select_folder(folder, readonly=True)
        return tuple(client.get_flags([uid])[uid])


def submission(authorization_id: str) -> smtplib.SMTP:
    """An SMTP submission session authenticated as the master user acting for a mailbox."""
    smtp = smtplib.SMTP(settings.OPERATOR_SMTP_HOST, settings.OPERATOR_SMTP_PORT, timeout=10)
    smtp.ehlo()
    smtp_login(smtp, Mailbox(address=authorization_id, access=Mailbox.Access.MASTER))
    return smtp


def wait_until(predicate: Callable[[], object], seconds: float = 20) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def provider_base() -> str:
    return os.environ["PSC_LOCAL_BASE_URL"]


def forget_provider_session(session: requests.Session) -> None:
    """Drop the provider's cookies only, as when another card is used at PSC."""
    for cookie in list(session.cookies):
        if cookie.name not in ("sessionid", "csrftoken"):
            session.cookies.clear(cookie.domain, cookie.path, cookie.name)


def session_store(session: requests.Session) -> SessionBase:
    return SessionStore(session_key=session.cookies["sessionid"])


def in_folder(mailbox: Mailbox, message_id: str, folder: str = "INBOX") -> bool:
    with imap_session(mailbox) as client:
        client.select_folder(folder, readonly=True)
        return bool(client.search(["HEADER", "Message-ID", message_id]))


def deliver_to(mailbox: Mailbox, message: EmailMessage) -> int:
    """Send through the operator's MX (as another operator would); returns its UID."""
    message["Message-ID"] = message_id = f"<{uuid.uuid4()}@hopital-c.mssante.test>"
    if not message["From"]:
        message["From"] = "Dr Karim BENALI <karim.benali@hopital-c.mssante.test>"
    message["To"] = mailbox.address
    with smtplib.SMTP("127.0.0.1", int(os.environ["OPERATOR_MX_PORT"]), timeout=10) as smtp:
        smtp.send_message(message)
    wait_until(lambda: in_folder(mailbox, message_id))
    return uid_of(mailbox, message_id)


def synced(*mailboxes: Mailbox) -> None:
    """Bring the cache up to date now, as the worker would (lists read the cache)."""
    from mailboxes.mailcache import sync

    for mailbox in mailboxes:
        sync.sync_mailbox(mailbox)


@contextmanager
def pushing(mailbox: Mailbox) -> Iterator[Watcher]:
    """The push chain running, as in production: a real Celery worker on the Redis broker
    and the IDLE watcher, holding IDLE on `mailbox` (someone has it open) when this yields."""
    from celery.contrib.testing.worker import start_worker

    from mailboxes.actions.syncing import on_inbox_change
    from mailboxes.mailcache import live
    from mailboxes.mailcache.watcher import Watcher
    from webmail.celery import app as celery_app

    live.touch(mailbox.pk)
    watcher = Watcher(on_change=on_inbox_change, every=0.2)
    runner = threading.Thread(target=watcher.run, daemon=True)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        runner.start()
        try:
            wait_until(lambda: mailbox.pk in watcher.watches)
            wait_until(lambda: watcher.watches[mailbox.pk].connected.is_set())
            yield watcher
        finally:
            watcher.stop()
            runner.join(timeout=15)
    assert not runner.is_alive() and not watcher.watches


def lmtp_deliver(mailbox: Mailbox, raw: bytes, message_id: str) -> int:
    """Hand raw bytes to the operator's Dovecot over LMTP, as its MX does after its checks
    (for mail Postfix itself would refuse, e.g. nested deeper than mime_nesting_limit)."""
    args = os.environ["OPERATOR_BACKEND_ARGS"].split()
    port = int(args[args.index("--port-base") + 1]) + 24  # scripts/operator_backend.py
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.sendmail("someone@hopital-c.mssante.test", [mailbox.address], raw)
    wait_until(lambda: in_folder(mailbox, message_id))
    return uid_of(mailbox, message_id)


SCREEN_SIZES = {"phone": (390, 844), "desktop": (1366, 900)}


def screenshot(page: Page, name: str) -> Path:
    """Keep a screenshot as a test artefact: TEST_ARTEFACTS/screenshots/, by default the
    work tree's test-artifacts/ (ignored by git), so a run leaves them for people to see."""
    default = Path(__file__).resolve().parents[2] / "test-artifacts"
    folder = Path(os.environ.get("TEST_ARTEFACTS") or default) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fresh_mailbox(operator_backend: OperatorBackend, prefix: str) -> Mailbox:
    """A mailbox no other test uses, at the operator and here: what it holds is its own."""
    address = f"{prefix}-{uuid.uuid4().hex[:8]}@operateur-a.mssante.test"
    operator_backend.add_user(address)
    mailbox = Mailbox.objects.create(address=address, kind=Mailbox.Kind.PERSONAL)
    # Dovecot looks at its users file at most once a second; a login it refuses costs 2 s
    # (auth_failure_delay): waiting the second out first is quicker.
    time.sleep(1.1)

    def known() -> bool:
        try:
            with imap_session(mailbox):
                return True
        except OperatorUnavailable:
            return False

    wait_until(known, seconds=10)
    return mailbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def events_server(port: int) -> Iterator[str]:
    """uvicorn serving webmail.asgi on loopback in a thread, as the events unit does in its
    process (its pages too: the browser tests load the list from it, one origin)."""
    config = uvicorn.Config(
        "webmail.asgi:application",
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"
