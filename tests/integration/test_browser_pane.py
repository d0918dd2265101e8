"""The reading pane and the undo toast in Debian's headless Chromium (issue 15): what only a
real browser shows (htmx, the keyboard focus, the body frame's height), with screenshots at
phone and desktop widths kept as test artefacts."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, Page

from mailboxes.models import AuditEvent, Mailbox
from tests.integration.helpers import (
    SCREEN_SIZES,
    deliver_to,
    in_folder,
    screenshot,
    synced,
    wait_until,
)
from tests.integration.test_browser_comforts import JEANNE, logged_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": SCREEN_SIZES["desktop"][0], "height": SCREEN_SIZES["desktop"][1]}
PHONE = {"width": SCREEN_SIZES["phone"][0], "height": SCREEN_SIZES["phone"][1]}
FRAME_FITS = """frame => {
  const root = frame.contentDocument.documentElement;
  return {height: frame.getBoundingClientRect().height, inner: root.scrollHeight,
          shown: root.clientHeight};
}"""


def mail(subject: str, html: str = "") -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message.set_content("Version texte du message.")
    if html:
        message.add_alternative(html, subtype="html")
    return message


def three_messages(mailbox: Mailbox) -> dict[str, int]:
    """Newest first in the list: a text-only note, a long HTML report, a short HTML one."""
    long_report = "".join(f"<p>Ligne {n} du compte rendu opératoire.</p>" for n in range(150))
    uids = {
        "short": deliver_to(mailbox, mail("Résultat court", "<p>Une seule ligne.</p>")),
        "long": deliver_to(mailbox, mail("Compte rendu long", long_report)),
        "text": deliver_to(mailbox, mail("Note en texte seul")),
    }
    synced(mailbox)
    return uids


def pane_page(chromium: Browser, live_url: str, mailbox: Mailbox, layout: str) -> Page:
    assert mailbox.owner is not None
    mailbox.owner.reading_pane = layout
    mailbox.owner.save()
    context = logged_in(chromium, live_url, mailbox)
    page = context.new_page()
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    return page


def subject_link(page: Page, uid: int) -> str:
    return f"#listing td.subject a[href*='/message/{uid}/']"


def focused_href(page: Page) -> str:
    return str(page.evaluate("document.activeElement.getAttribute('href') || ''"))


def test_the_reading_pane_opens_messages_beside_the_list_from_the_mouse_and_keyboard(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    mailbox = directory[JEANNE]
    uids = three_messages(mailbox)
    page = pane_page(chromium, live_url, mailbox, "right")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    listed = page.url
    page.click(subject_link(page, uids["long"]))
    page.wait_for_selector("#reader-pane #pane-subject:has-text('Compte rendu long')")
    assert page.url == listed  # no page load: the list stays as it was
    # Read, and shown so in the list at once (no redraw of the list comes for an opening).
    page.wait_for_selector(f"#listing tr:not(.unread):has(a[href*='/message/{uids['long']}/'])")
    assert f"/message/{uids['long']}/" in focused_href(page)  # the focus stays on the row
    assert page.is_visible(f"#listing tr.open-row a[href*='/message/{uids['long']}/']")
    frame = page.locator("#reader-pane iframe.body")
    frame.wait_for()
    wait_until(lambda: frame.evaluate(FRAME_FITS)["height"] > 2000, seconds=10)
    fits = frame.evaluate(FRAME_FITS)
    assert fits["inner"] <= fits["shown"] + 1, fits  # no scroll bar inside the frame
    wait_until(lambda: AuditEvent.objects.filter(action="message.read").exists())
    [read] = AuditEvent.objects.filter(action="message.read")
    assert read.target.startswith(f"INBOX/{uids['long']} ")  # audited as on its page
    screenshot(page, "pane-right-1366")

    page.keyboard.press("j")  # the next row, opened after a short pause
    page.wait_for_selector("#reader-pane #pane-subject:has-text('Résultat court')")
    assert f"/message/{uids['short']}/" in focused_href(page)
    short = page.locator("#reader-pane iframe.body")
    wait_until(lambda: 0 < short.evaluate(FRAME_FITS)["height"] < 200, seconds=10)
    fits = short.evaluate(FRAME_FITS)
    assert fits["inner"] <= fits["shown"] + 1, fits
    page.keyboard.press("k")
    page.keyboard.press("k")
    page.keyboard.press("o")  # at once, no pause
    page.wait_for_selector("#reader-pane #pane-subject:has-text('Note en texte seul')")
    assert f"/message/{uids['text']}/" in focused_href(page)
    assert "Version texte du message." in page.inner_text("#reader-pane .body")

    page.click("#reader-pane #message-next")  # the pane's own "next"
    page.wait_for_selector("#reader-pane #pane-subject:has-text('Compte rendu long')")
    assert page.evaluate("document.activeElement.id") == "message-next"  # not <body>
    page.keyboard.press("Enter")  # on the pane's "next" again
    page.wait_for_selector("#reader-pane #pane-subject:has-text('Résultat court')")
    # Its twin, or the message's heading at the end of the list: never <body>.
    twin = page.locator("#reader-pane #message-next").count()
    assert page.evaluate("document.activeElement.id") == (
        "message-next" if twin else "pane-subject"
    )
    assert page.url == listed
    assert AuditEvent.objects.filter(action="message.read").count() == 5
    assert problems == []
    page.context.close()


def test_the_pane_below_the_list_and_the_phone_which_opens_the_reader_page(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    mailbox = directory[JEANNE]
    uids = three_messages(mailbox)
    page = pane_page(chromium, live_url, mailbox, "off")
    page.click(".pane-choice button[value=below]")  # the person's choice, kept
    page.wait_for_selector(".layout.pane-below #reader-pane")
    assert mailbox.owner is not None
    mailbox.owner.refresh_from_db()
    assert mailbox.owner.reading_pane == "below"
    page.click(subject_link(page, uids["short"]))
    page.wait_for_selector("#reader-pane #pane-subject:has-text('Résultat court')")
    pane_top = page.eval_on_selector("#reader-pane", "e => e.getBoundingClientRect().top")
    list_bottom = page.eval_on_selector("#bulk", "e => e.getBoundingClientRect().bottom")
    assert pane_top >= list_bottom  # under the list
    screenshot(page, "pane-below-1366")
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/message/{uids['long']}/?folder=INBOX")
    frame = page.locator("iframe.body")
    wait_until(lambda: frame.evaluate(FRAME_FITS)["height"] > 2000, seconds=10)
    screenshot(page, "message-long-1366")  # the whole report in the page, no scroll bar inside
    page.go_back()
    page.set_viewport_size(PHONE)  # no room for a pane: the reader's own page
    page.goto(page.url)
    assert not page.is_visible("#reader-pane")
    page.click(subject_link(page, uids["long"]))
    page.wait_for_url(f"**/message/{uids['long']}/**")
    frame = page.locator("iframe.body")
    wait_until(lambda: frame.evaluate(FRAME_FITS)["height"] > 2000, seconds=10)
    assert page.is_visible("#message-next") and page.is_visible("#message-previous")
    screenshot(page, "message-long-390")
    page.keyboard.press("j")  # on a message's page: the next message
    page.wait_for_url(f"**/message/{uids['short']}/**")
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1
    page.context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_deleted_message_comes_back_from_the_toast_with_z(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], size: str
) -> None:
    mailbox = directory[JEANNE]
    message = mail("Supprimé par mégarde")
    deliver_to(mailbox, message)
    synced(mailbox)
    page = pane_page(chromium, live_url, mailbox, "right")
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    page.reload()
    page.keyboard.press("j")  # the newest: this one
    page.keyboard.press("#")
    page.wait_for_selector("#undo-toast:has-text('Message déplacé dans la corbeille.')")
    assert not in_folder(mailbox, message["Message-ID"])
    screenshot(page, f"undo-toast-{SCREEN_SIZES[size][0]}")
    page.keyboard.press("z")
    page.wait_for_selector(".banner:has-text('Annulé : le message est de retour')")
    assert in_folder(mailbox, message["Message-ID"])
    synced(mailbox)  # as the worker does: the list's next poll shows it again
    page.wait_for_selector("#listing td.subject a:has-text('Supprimé par mégarde')")
    assert not page.is_visible("#undo-toast")
    page.context.close()


def test_the_toast_goes_after_its_seconds_but_not_under_the_pointer(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    mailbox = directory[JEANNE]
    for subject in ("Premier à archiver", "Second à archiver"):
        deliver_to(mailbox, mail(subject))
    synced(mailbox)
    page = pane_page(chromium, live_url, mailbox, "off")
    page.keyboard.press("j")
    page.keyboard.press("e")
    page.wait_for_selector("#undo-toast:has-text('Message archivé.')")
    page.hover("#undo-toast")
    page.wait_for_timeout(9000)
    assert page.is_visible("#undo-toast")  # held while the pointer is on it
    page.mouse.move(5, 5)  # the seconds it had left run again
    page.locator("#undo-toast").wait_for(state="detached", timeout=10000)
    page.keyboard.press("j")
    page.keyboard.press("e")
    page.locator("#undo-toast").wait_for()
    page.locator("#undo-toast").wait_for(state="detached", timeout=12000)  # by itself
    page.context.close()


def test_the_same_origin_body_frame_still_runs_no_script_in_the_pane_or_the_page(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    """The frame is same-origin only to be measured: a hostile message's scripts, handlers,
    javascript: links and remote requests stay dead, in the pane as on the page."""
    from tests.integration.test_reader_and_actions import hostile_message

    mailbox = directory[JEANNE]
    uid = deliver_to(mailbox, hostile_message())
    synced(mailbox)
    page = pane_page(chromium, live_url, mailbox, "right")
    requests: list[str] = []
    page.context.on("request", lambda request: requests.append(request.url))
    page.click(subject_link(page, uid))
    page.wait_for_selector("#reader-pane iframe.body")
    page.wait_for_load_state("networkidle")
    for opened in ("pane", "page"):
        frame = page.locator("iframe.body")
        assert "Ordonnance" in page.frame_locator("iframe.body").locator("body").inner_text()
        tokens = frame.evaluate("f => Array.from(f.sandbox)")
        assert "allow-scripts" not in tokens and "allow-same-origin" in tokens, opened
        page.frame_locator("iframe.body").locator("a:has-text('lien')").click(force=True)
        page.wait_for_timeout(300)
        for child in page.frames:
            assert child.evaluate("window.pwned") is None, opened
        if opened == "pane":
            page.goto(f"{live_url}/mailbox/{mailbox.pk}/message/{uid}/?folder=INBOX")
            page.wait_for_load_state("networkidle")
    outside = [u for u in requests if not u.startswith(live_url) and not u.startswith("data:")]
    assert outside == [], outside
    page.context.close()
