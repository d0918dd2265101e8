"""axe-core (npm, pinned in tests/axe) on every page a person sees, in Debian's Chromium:
no violation of any impact (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from mailboxes.models import Mailbox
from tests.integration.test_browser_comforts import JEANNE, logged_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def violations(page: Page) -> list[str]:
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run the suite with scripts/test.sh (npm ci)")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(json.dumps(n["target"]) for n in v["nodes"][:3])
        for v in found
    ]


def test_no_page_has_any_accessibility_violation(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    from tests.integration.helpers import deliver_to, synced
    from tests.integration.test_browser_pane import mail

    mailbox = directory[JEANNE]
    deliver_to(mailbox, mail("Pour l'accessibilité", "<p>Un <i>message</i>.</p>"))
    synced(mailbox)
    context = logged_in(chromium, live_url, mailbox, bypass_csp=True)  # axe is injected
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    first = page.locator("#listing td.subject a").first.get_attribute("href")
    pages = {
        "list": f"/mailbox/{mailbox.pk}/",
        "list (Sent)": f"/mailbox/{mailbox.pk}/?folder=Sent",
        "message": first,
        "compose": f"/mailbox/{mailbox.pk}/compose/",
        "outbox": f"/mailbox/{mailbox.pk}/outbox/",
        "search": "/search/",
        "manage": "/manage/",
        "delegations": f"/mailbox/{mailbox.pk}/delegations/",
        "audit": f"/mailbox/{mailbox.pk}/audit/",
        "settings": f"/mailbox/{mailbox.pk}/settings/",
        "notifications": "/notifications/",
        "not found": "/mailbox/999999/",
    }
    report = {}
    for name, url in pages.items():
        page.goto(f"{live_url}{url}")
        report[name] = violations(page)
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    page.keyboard.press("?")  # the shortcuts' help, open
    report["shortcuts help"] = violations(page)
    report |= pane_and_toast(page, live_url, mailbox)
    report |= composer_states(page, live_url, mailbox)
    context.close()
    anonymous = chromium.new_context(locale="fr-FR", bypass_csp=True)
    login = anonymous.new_page()
    for name, url in (("login", "/login/"), ("invitation", "/invitation/")):
        login.goto(f"{live_url}{url}")
        report[name] = violations(login)
    anonymous.close()
    assert {name: found for name, found in report.items() if found} == {}


def pane_and_toast(page: Page, live_url: str, mailbox: Mailbox) -> dict[str, list[str]]:
    """The reading pane on either side with a message in it, and the undo toast."""
    from tests.integration.helpers import deliver_to, synced
    from tests.integration.test_browser_pane import mail

    deliver_to(mailbox, mail("Pour le volet", "<p>Compte rendu <b>en HTML</b>.</p>"))
    deliver_to(mailbox, mail("Pour la corbeille"))
    synced(mailbox)
    report = {}
    for layout in ("right", "below"):
        assert mailbox.owner is not None
        mailbox.owner.reading_pane = layout
        mailbox.owner.save()
        page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
        report[f"pane {layout}, empty"] = violations(page)
        page.click("#listing td.subject a:has-text('Pour le volet')")
        page.wait_for_selector("#reader-pane #pane-subject")
        page.wait_for_load_state("networkidle")
        report[f"pane {layout}, a message"] = violations(page)
    page.click("#listing tr:has-text('Pour la corbeille') input[name=uid]")
    page.click("#listing .bulk button[value=delete]")
    page.wait_for_selector("#undo-toast:has-text('Message déplacé')")
    report["undo toast"] = violations(page)
    return report


def composer_states(page: Page, live_url: str, mailbox: Mailbox) -> dict[str, list[str]]:
    """The composer while files are dragged over it, and while they are sent."""
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/compose/")
    page.evaluate(
        """() => {
          const files = new DataTransfer();
          files.items.add(new File(["x"], "note.pdf", {type: "application/pdf"}));
          document.getElementById("id_text").dispatchEvent(
            new DragEvent("dragenter", {dataTransfer: files, bubbles: true}));
        }"""
    )
    report = {"compose, files dragged over": violations(page)}
    page.evaluate(
        """() => {
          document.getElementById("compose").classList.remove("dragging");
          document.getElementById("upload-label").textContent = "Envoi des pièces jointes…";
          document.getElementById("upload-progress").hidden = false;
          document.getElementById("upload-bar").value = 40;
          const error = document.getElementById("upload-error");
          error.textContent = "Les pièces jointes n’ont pas pu être envoyées.";
          error.hidden = false;
        }"""
    )
    report["compose, files being sent"] = violations(page)
    return report
