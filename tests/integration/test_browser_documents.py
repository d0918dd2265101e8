"""A hostile CDA N3 narrative in Debian's headless Chromium (CONFORMANCE.md CDA-R3, TST 3):
shown in the sandboxed frame, no script runs, no request leaves the site."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser

from mailboxes.models import Mailbox
from tests.documents import hostile_xdm as hostile
from tests.documents.test_rendering import hostile_level3
from tests.integration.helpers import deliver_to
from tests.integration.test_browser_security import logged_in
from tests.integration.test_health_documents import xdm_message

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"


def test_a_hostile_narrative_runs_no_script_and_requests_nothing_outside(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    mailbox = directory[JEANNE]
    uid = deliver_to(mailbox, xdm_message(("IHE_XDM.ZIP", hostile.good(hostile_level3()))))
    context, _ = logged_in(chromium, live_url, mailbox)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/message/{uid}/?folder=INBOX")
    view = page.get_by_role("link", name="Voir")
    view.click()
    page.wait_for_load_state("networkidle")
    frame = page.frame_locator("iframe.body")
    assert "lien" in frame.locator("body").inner_text()
    assert page.evaluate("window.__pwned") is None
    for child in page.frames:
        assert child.evaluate("window.__pwned") is None
    outside = [
        url for url in requests if not url.startswith(live_url) and not url.startswith("data:")
    ]
    assert outside == [], outside
    assert not any(re.search(r"127\.0\.0\.9", url) for url in requests)
    context.close()
