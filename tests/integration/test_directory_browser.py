"""Recipients in the composer, in a real headless Chromium: directory suggestions as an ARIA
combobox used from the keyboard (DIR5), and the trust marks as one types (TL6)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings

from directory.annuaire import do_import_annuaire
from directory.refresh import do_refresh_trust_list
from mailboxes.models import Mailbox, User
from tests.conftest import REPO, client_for
from webmail.demo import annuaire

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
KARIM = "karim.benali@hopital-c.mssante.test"


@pytest.fixture
def composer(
    chromium: Browser, live_url: str, marie: User, marie_mailbox: Mailbox, settings: Settings
) -> Page:
    """Marie's composer, with the demo's directory and trust list."""
    settings.TRUSTLIST_MIN_DOMAINS = 3
    assert do_refresh_trust_list(str(REPO / "webmail" / "demo" / "listeblanche.xml")).accepted
    assert do_import_annuaire(annuaire.DEMO).accepted
    session = client_for(marie).cookies["sessionid"].value
    context = chromium.new_context(locale="fr-FR")
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_url}])
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{marie_mailbox.pk}/compose/")
    return page


def test_typing_card_offers_karim_and_the_cardiology_service_chosen_with_the_keyboard(
    composer: Page,
) -> None:
    to = composer.locator("#id_to")
    expect(to).to_have_attribute("role", "combobox")
    to.press_sequentially("card", delay=30)
    listbox = composer.locator("#id_to-suggestions")
    expect(listbox).to_be_visible()
    expect(to).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.filter(has_text="Dr Karim BENALI")).to_contain_text("Centre hospitalier de C")
    expect(options.filter(has_text="Service de cardiologie")).to_contain_text("LYON")
    expect(options.filter(has_text="Dr Karim BENALI")).to_contain_text("✓")
    texts = options.all_inner_texts()
    karim = next(i for i, text in enumerate(texts) if "Dr Karim BENALI" in text)
    for _ in range(karim + 1):
        to.press("ArrowDown")
    active = to.get_attribute("aria-activedescendant")
    expect(composer.locator(f"#{active}")).to_have_attribute("aria-selected", "true")
    to.press("Enter")
    expect(to).to_have_value(f"{KARIM}, ")
    expect(listbox).to_be_hidden()
    expect(to).to_have_attribute("aria-expanded", "false")
    marks = composer.locator("#recipient-marks")
    expect(marks).to_contain_text(KARIM)
    expect(marks.locator("li.trusted")).to_have_count(1)


def test_escape_closes_the_suggestions_and_gmail_is_marked_outside(composer: Page) -> None:
    cc = composer.locator("#id_cc")
    cc.press_sequentially("benal", delay=30)
    expect(composer.locator("#id_cc-suggestions")).to_be_visible()
    cc.press("Escape")
    expect(composer.locator("#id_cc-suggestions")).to_be_hidden()
    expect(cc).to_have_value("benal")  # Escape leaves what was typed
    cc.fill("dr.house@gmail.com")
    cc.dispatch_event("input")
    outside = composer.locator("#recipient-marks li.outside")
    expect(outside).to_contain_text("dr.house@gmail.com")
    expect(outside).to_contain_text(re.compile("hors de l’espace de confiance MSSanté"))


SLOW_SUGGESTIONS = """() => {
  const real = window.fetch;
  window.fetch = (url, options) => real(url, options).then((answer) =>
    String(url).includes("/directory/suggest/")
      ? new Promise((done) => setTimeout(() => done(answer), 1200))
      : answer);
}"""


def test_the_suggestions_stay_closed_once_an_address_is_chosen_whatever_comes_late(
    composer: Page,
) -> None:
    """Found in the demo walk: a busy server's answer to what was typed before the choice
    arrived after it and opened the list again, for good."""
    to = composer.locator("#id_to")
    listbox = composer.locator("#id_to-suggestions")
    to.press_sequentially("card", delay=30)
    expect(listbox).to_be_visible()
    composer.evaluate(SLOW_SUGGESTIONS)  # the next answers take 1.2 s to come
    to.press("i")
    composer.wait_for_timeout(300)  # "cardi" asked, its answer on its way
    to.press("ArrowDown")
    to.press("Enter")  # chosen from the list still shown
    expect(to).to_have_value(re.compile(r"@.+, $"))
    expect(listbox).to_be_hidden()
    composer.wait_for_timeout(2000)  # the late answer has come
    expect(listbox).to_be_hidden()
    expect(to).to_have_attribute("aria-expanded", "false")
    to.press_sequentially(KARIM, delay=10)  # an address typed in full: nothing to suggest
    composer.wait_for_timeout(1800)
    expect(listbox).to_be_hidden()


def test_the_trust_marks_sit_under_the_to_field_not_below_the_checkboxes(
    composer: Page,
) -> None:
    from tests.integration.helpers import SCREEN_SIZES, screenshot

    width, height = SCREEN_SIZES["desktop"]
    composer.set_viewport_size({"width": width, "height": height})
    to = composer.locator("#id_to")
    to.fill(f"{KARIM}, dr.house@gmail.com")
    to.dispatch_event("input")
    expect(composer.locator("#recipient-marks li.trusted")).to_contain_text(KARIM)
    expect(composer.locator("#recipient-marks li.outside")).to_contain_text("dr.house@gmail.com")
    screenshot(composer, f"compose-marks-{width}")
    marks = composer.locator("#recipient-marks").bounding_box()
    field, cc = to.bounding_box(), composer.locator("#id_cc").bounding_box()
    receipt = composer.locator("#id_request_dsn").bounding_box()
    assert marks and field and cc and receipt
    assert field["y"] + field["height"] <= marks["y"] + 1
    assert marks["y"] + marks["height"] <= cc["y"]  # between À and Cc
    assert marks["y"] < receipt["y"]
