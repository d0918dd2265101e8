"""Security behaviour that shows only in a real browser (Debian's headless Chromium): the idle
lock under the list's event stream, the CSP on the application's pages."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.backends.cache import SessionStore
from playwright.sync_api import Browser, BrowserContext
from pytest_django import Settings

from mailboxes.mailcache import live
from mailboxes.models import Mailbox
from tests.conftest import client_for
from tests.integration.helpers import synced
from webmail.auth import session as auth_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"


def logged_in(chromium: Browser, live_url: str, mailbox: Mailbox) -> tuple[BrowserContext, str]:
    key = client_for(mailbox.owner).cookies["sessionid"].value  # type: ignore[arg-type]
    context = chromium.new_context(locale="fr-FR")
    context.add_cookies([{"name": "sessionid", "value": key, "url": live_url}])
    return context, key


def test_an_open_list_locks_when_idle_and_shows_the_login_page(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], settings: Settings
) -> None:
    """The list's event stream reads its session again at every heartbeat: idle, it ends,
    its reconnection is refused and the page follows to the login page."""
    settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS = 2
    mailbox = directory[JEANNE]
    synced(mailbox)
    context, key = logged_in(chromium, live_url, mailbox)
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    page.wait_for_selector("#listing .live", state="attached")
    store = SessionStore(session_key=key)
    store[auth_session.SEEN] = time.time() - 31 * 60  # half an hour with only the stream open
    store.save()
    page.wait_for_url(f"{live_url}/login/?ended=idle", timeout=20000)  # the next heartbeat
    assert "inactivité" in page.content()
    context.close()


VIOLATIONS_JS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations = window.__violations || [];
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_the_main_pages_run_under_the_csp_without_a_violation_and_htmx_works(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    from tests.integration.helpers import deliver_to
    from tests.integration.test_security_headers import html_message

    mailbox = directory[JEANNE]
    uid = deliver_to(mailbox, html_message())
    synced(mailbox)
    context, _ = logged_in(chromium, live_url, mailbox)
    context.add_init_script(VIOLATIONS_JS)
    console: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))

    def violations() -> list[str]:
        found = page.evaluate("window.__violations || []")
        return [*found, *(m for m in console if "Content Security Policy" in m)]

    with page.expect_response(lambda r: "/events/" in r.url, timeout=20000) as stream:
        page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    assert stream.value.status == 200  # the live list's event stream, allowed by connect-src
    with page.expect_response(lambda r: "/changes/" in r.url, timeout=20000) as polled:
        live.bump(mailbox.pk)
    assert polled.value.status == 200  # htmx runs: told by the stream, the list asks again
    assert page.evaluate("typeof htmx") == "object"
    assert violations() == []
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/message/{uid}/?folder=INBOX")
    page.wait_for_load_state("networkidle")
    assert "joint" in page.frame_locator("iframe.body").locator("body").inner_text()
    assert violations() == []
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/compose/?folder=INBOX&reply={uid}")
    page.fill("#id_text", "Bien reçu, merci.")
    page.wait_for_selector("#draft-status:has-text('Brouillon enregistré')", timeout=20000)
    assert violations() == []
    context.close()
