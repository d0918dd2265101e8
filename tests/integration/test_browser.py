"""Hostile HTML in a real headless Chromium (Debian's): no script runs, nothing remote loads."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from mailboxes.models import Mailbox
from tests.conftest import client_for
from tests.integration.helpers import deliver_to
from tests.integration.test_reader_and_actions import hostile_message

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright runs an event loop
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.mark.parametrize("images", [False, True])
def test_it_runs_no_script_and_loads_nothing_remote_from_hostile_mail(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], images: bool
) -> None:
    mailbox = directory["jeanne.lefevre@operateur-a.mssante.test"]
    uid = deliver_to(mailbox, hostile_message())
    session = client_for(mailbox.owner).cookies["sessionid"].value  # type: ignore[arg-type]
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_url}])
    # Playwright reports requests that the CSP then blocks, too (checked by hand: Chromium
    # logs the violation and fetches nothing). So this list proves that the sanitiser alone
    # removed them; the CSP header, the second wall, is asserted in test_reader_and_actions.
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    # Nothing may leave this machine: anything not ours is refused (and recorded above).
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(live_url) else route.abort()
        ),
    )
    dialogs: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    query = "?folder=INBOX" + ("&images=1" if images else "")
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/message/{uid}/{query}")
    page.wait_for_load_state("networkidle")
    body = page.frame_locator("iframe.body").locator("body")
    assert "Ordonnance" in body.inner_text()
    remote = [url for url in requested if not url.startswith(live_url)]
    evil = [url for url in remote if "evil.example" in url]
    assert evil == [], evil  # no script, handler, style, refresh, form or frame reached out
    assert dialogs == []
    if images:
        assert remote == ["https://tracker.example/pixel.gif"]  # asked for, so loaded
    else:
        assert remote == []  # not even the tracking pixel
    assert any("/part/" in url for url in requested)  # the cid: image came from us
    context.close()
