"""Issue 15 in Debian's headless Chromium: what only a real browser shows (scripts, focus)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext

from mailboxes.models import Mailbox
from mailboxes.operator import imap
from tests.conftest import client_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"


def logged_in(
    chromium: Browser, live_url: str, mailbox: Mailbox, **options: object
) -> BrowserContext:
    session = client_for(mailbox.owner).cookies["sessionid"].value  # type: ignore[arg-type]
    context = chromium.new_context(locale="fr-FR", **options)  # type: ignore[arg-type]
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_url}])
    return context


def test_a_file_chosen_goes_into_the_draft_at_once(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    """Defect 6: chosen, the file is stored with the draft and listed (ticked) with it; the
    file input is emptied, so sending does not attach it twice."""
    mailbox = directory[JEANNE]
    context = logged_in(chromium, live_url, mailbox)
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/compose/")
    page.fill("#id_subject", "Brouillon avec pièce jointe")
    page.set_input_files(
        "#attachments",
        files=[{"name": "ordonnance.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}],
    )
    page.wait_for_selector("#draft-attachments input[name=keep_attachment]:checked", timeout=20000)
    assert "ordonnance.pdf" in page.inner_text("#draft-attachments")
    assert page.eval_on_selector("#attachments", "input => input.files.length") == 0
    drafts = imap.list_folder(mailbox, "Drafts", 1, 50)
    assert "Brouillon avec pièce jointe" in [e.subject for e in drafts.envelopes]
    context.close()


def test_a_live_redraw_keeps_the_keyboard_focus_and_logs_no_error(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    """Defect 10: the list redrawn under the person keeps the focus on the same row link
    (not <body>); the page's polls log no error, the favicon is found."""
    from email.message import EmailMessage

    from mailboxes.mailcache import live
    from tests.integration.helpers import deliver_to, synced, wait_until

    mailbox = directory[JEANNE]
    message = EmailMessage()  # a row to focus, whichever test ran before
    message["Subject"] = "Redessiné sous vos yeux"
    message.set_content("x")
    deliver_to(mailbox, message)
    synced(mailbox)
    context = logged_in(chromium, live_url, mailbox)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    link = page.locator("#listing td.subject a").first
    href = link.get_attribute("href")
    link.focus()
    page.evaluate(
        "window.redrawn = 0; document.addEventListener('htmx:afterSettle', () => window.redrawn++)"
    )
    live.bump(mailbox.pk)  # as a sync would: the next poll redraws the list
    wait_until(lambda: page.evaluate("window.redrawn") > 0, seconds=15)
    assert page.evaluate("document.activeElement.getAttribute('href')") == href
    page.wait_for_timeout(2500)  # another poll or two, nothing changed
    assert problems == []
    assert context.request.get(f"{live_url}/favicon.ico").ok
    context.close()


def test_keyboard_shortcuts_move_select_archive_and_open(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    """j/k move through the list, x selects, e archives the selection, o opens, r replies,
    ? shows the help; "select all" ticks the page; the skip link leads to the content."""
    from email.message import EmailMessage

    from tests.integration.helpers import deliver_to, in_folder, synced

    mailbox = directory[JEANNE]
    made = []
    for n in range(2):
        message = EmailMessage()
        message["Subject"] = f"Raccourci {n}"
        message.set_content("x")
        deliver_to(mailbox, message)
        made.append(message["Message-ID"])
    synced(mailbox)
    context = logged_in(chromium, live_url, mailbox)
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("?")
    assert page.is_visible("#shortcuts-help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#listing .bulk button[value=archive]")  # nothing selected
    page.click("#select-all")
    assert page.is_visible("#listing .bulk button[value=archive]")  # the toolbar appears
    boxes = page.locator("#listing input[name=uid]")
    assert boxes.count() >= 2 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.click("#select-all")
    page.keyboard.press("j")  # the newest message: "Raccourci 1"
    assert "Raccourci 1" in page.inner_text("#listing tr.current-row")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("x")
    assert page.locator("#listing tr.current-row input[name=uid]").is_checked()
    with page.expect_navigation():  # the list drawn anew: j and o act on it, not the old one
        page.keyboard.press("e")
    wait = 0
    while in_folder(mailbox, made[1]) and wait < 50:
        page.wait_for_timeout(100)
        wait += 1
    assert not in_folder(mailbox, made[1]) and in_folder(mailbox, made[1], folder="Archive")
    # The list is drawn anew without it before the next keys (else they may land on the
    # old list while it is swapped out, on a loaded machine).
    page.wait_for_function("!document.querySelector('#listing').innerText.includes('Raccourci 1')")
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url("**/message/**")
    page.keyboard.press("r")
    page.wait_for_url("**/compose/**reply=**")
    assert page.inner_text("h1") == "Répondre"
    context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_pages_fit_a_phone_and_a_desktop_with_screenshots_kept(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], size: str
) -> None:
    """Responsive layout: nothing wider than the screen on the list, a message and the
    composer; screenshots kept as test artefacts (tests.integration.helpers.screenshot)."""
    from email.message import EmailMessage

    from tests.integration.helpers import SCREEN_SIZES, deliver_to, screenshot, synced

    mailbox = directory[JEANNE]
    message = EmailMessage()
    message["Subject"] = "Compte rendu de consultation"
    message.set_content("Madame, je vous adresse le compte rendu de la consultation.")
    deliver_to(mailbox, message)
    synced(mailbox)
    width, height = SCREEN_SIZES[size]
    context = logged_in(chromium, live_url, mailbox)
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    first = page.locator("#listing td.subject a").first.get_attribute("href")
    for name, url in (("list", f"/mailbox/{mailbox.pk}/"), ("message", first),
                      ("compose", f"/mailbox/{mailbox.pk}/compose/")):  # fmt: skip
        page.goto(f"{live_url}{url}")
        screenshot(page, f"{name}-{width}")
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{name} at {width}px is {overflow}px too wide"
    context.close()


def test_health_documents_and_triage_fit_a_phone(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], demo_mail: None
) -> None:
    """The demo walk at 375 px: the documents table made the page 814 px wide, the triage
    list's status badge sat on the assignee, the composer's checkboxes floated 190 px wide."""
    from tests.integration.helpers import synced, uid_of
    from webmail.demo import messages

    marie = directory["marie.durand@operateur-a.mssante.test"]
    pharmacy = directory["pharmacie.marche@operateur-a.mssante.test"]
    synced(marie, pharmacy)
    report = uid_of(marie, next(m for m in messages.MESSAGES if m.key == "22").message_id)
    pages = [
        (marie, "message", f"/mailbox/{marie.pk}/message/{report}/"),
        (marie, "documents", "/search/documents/?q=robert"),
        (marie, "compose", f"/mailbox/{marie.pk}/compose/"),
        (directory[JEANNE], "triage", f"/mailbox/{pharmacy.pk}/triage/"),
    ]
    for mailbox, name, url in pages:
        context = logged_in(chromium, live_url, mailbox)
        page = context.new_page()
        page.set_viewport_size({"width": 375, "height": 740})
        page.goto(f"{live_url}{url}")
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(
            """[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 376 && e.getBoundingClientRect().width < 700)
               .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width))"""
        )
        assert overflow <= 1, f"{name} at 375px is {overflow}px too wide: {wide}"
        if name == "compose":
            widths = page.evaluate(
                "[...document.querySelectorAll('.compose input[type=checkbox]')]"
                ".map(box => box.getBoundingClientRect().width)"
            )
            assert widths and max(widths) < 40, widths
        if name == "triage":
            overlaps = page.evaluate(
                """[...document.querySelectorAll('#listing tr')].filter(row => {
                  const tags = [...row.querySelectorAll('.tag')].map(t => t.getBoundingClientRect());
                  return tags.some((a, i) => tags.some((b, j) => i < j && a.left < b.right &&
                    b.left < a.right && a.top < b.bottom && b.top < a.bottom));
                }).length"""
            )
            assert overlaps == 0
        context.close()
