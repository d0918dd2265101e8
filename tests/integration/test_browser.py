"""Hostile HTML in a real headless Chromium (Debian's): no script runs, nothing remote loads."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser

from mailboxes.models import Mailbox
from tests.conftest import client_for
from tests.integration.helpers import deliver_to
from tests.integration.test_reader_and_actions import hostile_message

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


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


def test_it_saves_drafts_while_typing_and_refuses_oversized_files_before_upload(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], settings: object
) -> None:
    from mailboxes.operator import imap

    settings.WEBMAIL_MAX_UPLOAD_BYTES = 50_000  # type: ignore[attr-defined]
    mailbox = directory["jeanne.lefevre@operateur-a.mssante.test"]
    session = client_for(mailbox.owner).cookies["sessionid"].value  # type: ignore[arg-type]
    context = chromium.new_context(locale="fr-FR")
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_url}])
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/compose/")
    page.fill("#id_to", "karim.benali@hopital-c.mssante.test")
    page.fill("#id_subject", "Brouillon en cours")
    page.fill("#id_text", "Premières lignes")
    page.wait_for_selector("#draft-status:has-text('Brouillon enregistré')", timeout=20000)
    first = page.input_value("#draft-status input[name=draft_uid]")
    page.fill("#id_text", "Premières lignes, et la suite")
    page.wait_for_function(
        "uid => document.querySelector('#draft-status input[name=draft_uid]').value !== uid",
        arg=first,
        timeout=20000,
    )
    drafts = imap.list_folder(mailbox, "Drafts", 1, 50)
    assert [e.subject for e in drafts.envelopes].count("Brouillon en cours") == 1  # replaced
    page.set_input_files(
        "#attachments",
        files=[{"name": "scanner.pdf", "mimeType": "application/pdf", "buffer": b"0" * 60_000}],
    )
    assert page.is_visible("#size-warning")
    assert page.is_disabled("#compose button[type=submit]")
    page.set_input_files("#attachments", files=[])
    assert not page.is_visible("#size-warning")
    page.click("#compose button[type=submit]")
    page.wait_for_url(f"{live_url}/mailbox/{mailbox.pk}/outbox/")
    remaining = imap.list_folder(mailbox, "Drafts", 1, 50)
    assert "Brouillon en cours" not in [e.subject for e in remaining.envelopes]  # sent: gone
    context.close()


def test_the_open_list_shows_new_mail_without_reloading(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    """The whole chain in a real browser: Postfix -> Dovecot -> IDLE watcher -> Celery worker
    -> cache -> the page's htmx poll redraws the list and the unread count."""
    from tests.integration.helpers import pushing, synced

    mailbox = directory["jeanne.lefevre@operateur-a.mssante.test"]
    earlier = EmailMessage()
    earlier["Subject"] = "Déjà là"
    earlier.set_content("Ancien")
    deliver_to(mailbox, earlier)  # something to select, whatever ran before
    synced(mailbox)
    session = client_for(mailbox.owner).cookies["sessionid"].value  # type: ignore[arg-type]
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_url}])
    page = context.new_page()
    page.goto(f"{live_url}/mailbox/{mailbox.pk}/")
    page.locator("#listing input[name=uid]").first.check()  # a selection survives a redraw
    unread = int(page.locator("#folders .current .count").inner_text())
    assert page.title().startswith(f"({unread}) ")
    with pushing(mailbox):
        message = EmailMessage()
        message["Subject"] = "Sans recharger la page"
        message.set_content("Nouveau")
        deliver_to(mailbox, message)
        page.get_by_text("Sans recharger la page").wait_for(timeout=20_000)
    assert page.locator("#listing input[name=uid]:checked").count() == 1
    # The tab says so too (a redraw during the sync may show the rows before the count).
    page.wait_for_function(f"document.title.startsWith('({unread + 1}) ')", timeout=10_000)
    assert page.locator("#mailboxes .current .count").inner_text() == str(unread + 1)
    focused = page.evaluate("document.activeElement ? document.activeElement.id : ''")
    assert focused.startswith("uid-")  # the keyboard focus came back after the redraw
    assert page.locator("#folders .current .count").inner_text().strip() != ""
    context.close()


def test_an_invitation_link_opens_in_chromium_without_its_token_reaching_the_server(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    """The token rides in the fragment; static/js/invitation.js posts it in the body."""
    from django.urls import reverse

    from mailboxes.models import Invitation, Structure
    from webmail.auth import local

    jeanne = directory["jeanne.lefevre@operateur-a.mssante.test"].owner
    structure = Structure.objects.filter(managers=jeanne).first()
    invited = local.do_invite(jeanne, "nouvelle.secretaire@exemple.fr", None, structure)  # type: ignore[arg-type]
    token = invited.link.split("#", 1)[1]
    context = chromium.new_context()
    requested: list[tuple[str, str | None]] = []
    context.on("request", lambda request: requested.append((request.url, request.post_data)))
    page = context.new_page()
    page.goto(f"{live_url}{reverse('auth-invitation')}#{token}")
    page.wait_for_url(f"{live_url}{reverse('auth-invitation-password')}")
    assert page.locator("input[type=password]").count() == 2
    urls = [url for url, _ in requested]
    assert urls and not any(token in url for url in urls)  # no URL, no query string
    assert any(body and token in body for _, body in requested)  # the form's body
    assert Invitation.objects.get(pk=invited.invitation.pk).accepted_at is None  # type: ignore[union-attr]
    context.close()


def test_logging_out_in_chromium_ends_the_psc_session_too(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox]
) -> None:
    """Our logout posts, then redirects to PSC's end_session: Chromium holds that redirect to
    the page's form-action, which must name PSC (found walking the demo: it did not, and the
    next person at the computer was logged straight back in as the last one)."""
    from tests.integration.helpers import ACCOUNTS

    context = chromium.new_context()
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "violates" in m.text else None)
    page.goto(f"{live_url}/oidc/authenticate/")
    page.check(f"input[value='{ACCOUNTS['marie']}']")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/**")
    page.click("form[action='/logout/'] button")
    page.wait_for_url(f"{live_url}/login/**", timeout=15000)
    assert blocked == []
    page.goto(f"{live_url}/oidc/authenticate/")  # PSC asks who it is again
    assert page.locator("text=Se connecter avec e-CPS").count() == 1
    context.close()
