"""Security behaviour that shows only in a real browser (Debian's headless Chromium): the idle
lock under the list's poll, the CSP on the application's pages."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from django.contrib.sessions.backends.cache import SessionStore
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from mailboxes.models import Mailbox
from tests.conftest import client_for
from tests.integration.helpers import synced
from tests.integration.test_browser import CHROMIUM_ARGS
from webmail.auth import session as auth_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright runs an event loop
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def logged_in(chromium: Browser, live_url: str, mailbox: Mailbox) -> tuple[BrowserContext, str]:
    key = client_for(mailbox.owner).cookies["sessionid"].value  # type: ignore[arg-type]
    context = chromium.new_context(locale="fr-FR")
    context.add_cookies([{"name": "sessionid", "value": key, "url": live_url}])
    return context, key


def test_an_open_list_locks_when_idle_and_shows_the_login_page(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    mailbox = directory[JEANNE]
    synced(mailbox)
    context, key = logged_in(chromium, live_url, mailbox)
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    page.wait_for_selector("#listing .live", state="attached")
    store = SessionStore(session_key=key)
    store[auth_session.SEEN] = time.time() - 31 * 60  # half an hour with only the poll running
    store.save()
    page.wait_for_url(f"{live_url}/login/?ended=idle", timeout=20000)  # the next poll
    assert "inactivité" in page.content()
    context.close()
