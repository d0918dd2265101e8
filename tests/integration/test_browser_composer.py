"""Attachments dropped on the composer, in Debian's headless Chromium (issue 15): into the
draft through its own upload, with a progress bar, the size limit and French errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page
from pytest_django import Settings

from mailboxes.models import Mailbox
from mailboxes.operator import imap
from tests.integration.helpers import SCREEN_SIZES, screenshot
from tests.integration.test_browser_comforts import JEANNE, logged_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
DROP = """([name, size, target, events]) => {
  const files = new DataTransfer();
  files.items.add(new File([new Uint8Array(size)], name, {type: "application/pdf"}));
  const on = document.querySelector(target);
  for (const type of events) {
    on.dispatchEvent(new DragEvent(type, {dataTransfer: files, bubbles: true, cancelable: true}));
  }
}"""
WATCH_PROGRESS = """() => {
  window.progress = {shown: false, values: []};
  const box = document.getElementById("upload-progress");
  new MutationObserver(() => { if (!box.hidden) window.progress.shown = true; })
    .observe(box, {attributes: true});
  document.addEventListener("htmx:xhr:progress", () =>
    window.progress.values.push(document.getElementById("upload-bar").value));
}"""


def composer(chromium: Browser, live_url: str, mailbox: Mailbox, size: str = "desktop") -> Page:
    page = logged_in(chromium, live_url, mailbox).new_page()
    width, height = SCREEN_SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/compose/")
    page.fill("#id_subject", "Compte rendu joint")
    return page


def drop(page: Page, name: str, size: int, events: tuple[str, ...] = ("dragenter", "dragover",
         "drop")) -> None:  # fmt: skip
    page.evaluate(DROP, [name, size, "#id_text", list(events)])


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_files_dropped_on_the_form_go_into_the_draft_with_a_progress_bar(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], size: str
) -> None:
    mailbox = directory[JEANNE]
    page = composer(chromium, live_url, mailbox, size)
    drop(page, "ignored.pdf", 10, ("dragenter", "dragover"))
    assert page.eval_on_selector("#compose", "form => form.classList.contains('dragging')")
    hint = page.eval_on_selector("#compose", "f => getComputedStyle(f, '::after').content")
    assert hint == '"Déposez les fichiers pour les joindre"'
    screenshot(page, f"compose-drop-{SCREEN_SIZES[size][0]}")
    drop(page, "ignored.pdf", 10, ("dragleave",))
    assert not page.eval_on_selector("#compose", "form => form.classList.contains('dragging')")
    page.evaluate(WATCH_PROGRESS)
    if size == "desktop":  # a slow line, to see the bar move (and keep a picture of it)
        network = page.context.new_cdp_session(page)
        slow = {"offline": False, "latency": 0, "downloadThroughput": -1}
        network.send("Network.emulateNetworkConditions", {**slow, "uploadThroughput": 800_000})
    drop(page, "compte-rendu-opératoire.pdf", 2_000_000)
    if size == "desktop":
        page.wait_for_function(
            "() => { const v = document.getElementById('upload-bar').value; return v > 15 && v < 85; }",
            timeout=20000,
        )
        assert page.inner_text("#upload-label") == "Envoi des pièces jointes…"
        screenshot(page, "compose-progress-1366")
        network.send("Network.emulateNetworkConditions", {**slow, "uploadThroughput": -1})
    page.wait_for_selector(
        "#draft-attachments label:has-text('compte-rendu-opératoire.pdf') input:checked",
        timeout=20000,
    )
    progress = page.evaluate("window.progress")
    assert progress["shown"] and progress["values"] and max(progress["values"]) == 100
    page.wait_for_selector("#upload-progress", state="hidden")  # done: gone
    assert page.eval_on_selector("#attachments", "input => input.files.length") == 0
    # The file input (the keyboard's way) goes the same way, with its bar.
    page.evaluate(WATCH_PROGRESS)
    page.set_input_files(
        "#attachments",
        files=[{"name": "ordonnance.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" * 9}],
    )
    page.wait_for_selector("#draft-attachments label:has-text('ordonnance.pdf')", timeout=20000)
    assert page.evaluate("window.progress.shown")
    drafts = imap.list_folder(mailbox, "Drafts", 1, 50)
    assert "Compte rendu joint" in [e.subject for e in drafts.envelopes]
    page.context.close()


def test_a_drop_too_large_or_cut_short_is_said_in_french(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], settings: Settings
) -> None:
    settings.WEBMAIL_MAX_UPLOAD_BYTES = 300_000
    mailbox = directory[JEANNE]
    page = composer(chromium, live_url, mailbox)
    drop(page, "premier.pdf", 200_000)  # fits
    page.wait_for_selector("#draft-attachments label:has-text('premier.pdf')", timeout=20000)
    drop(page, "second.pdf", 200_000)  # with the first, kept in the draft: too much
    assert page.is_visible("#size-warning")
    assert "Ces fichiers sont trop volumineux" in page.inner_text("#size-warning")
    assert page.is_disabled("#compose button[type=submit]")
    assert not page.is_visible("#draft-attachments label:has-text('second.pdf')")
    page.set_input_files("#attachments", files=[])
    page.uncheck("#draft-attachments input[name=keep_attachment]")
    page.route("**/drafts/save/", lambda route: route.abort("connectionreset"))
    drop(page, "coupé.pdf", 1000)
    error = page.locator("#upload-error")
    error.wait_for(timeout=10000)
    assert "n’ont pas pu être envoyées (la connexion a été coupée)" in error.inner_text()
    assert not page.is_visible("#upload-progress")
    page.context.close()
