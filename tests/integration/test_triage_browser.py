"""Two secretaries of the pharmacy on its shared mailbox, in two headless Chromium sessions:
each sees the other arrive within 2 s, an assignment shows live, and the second reply to the
same conversation is stopped with the choice. Real Dovecot, Postfix, Redis, PostgreSQL."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from mailboxes.models import Delegation, Mailbox, Outgoing, User
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, synced
from triage.models import Conversation

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PHARMACY = "pharmacie.marche@operateur-a.mssante.test"
LIVE_MS = 3000  # the pages poll every 2 s; a little room for the answer


def secretary(mailbox: Mailbox, jeanne: User, name: str, number: int) -> User:
    first, last = name.split()
    person = User.objects.create_user(
        f"{first.lower()}@pharmacie.test",
        first_name=first,
        last_name=last,
        subject_name_id=f"81000000090{number}",
    )
    Delegation.objects.create(person=person, mailbox=mailbox, role="sender", granted_by=jeanne)
    return person


def session_of(chromium: Browser, live_url: str, person: User) -> BrowserContext:
    cookie = client_for(person).cookies["sessionid"].value
    context = chromium.new_context(locale="fr-FR")
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_url}])
    return context


def open_page(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    return page


def test_two_secretaries_see_each_other_and_the_second_reply_is_stopped(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], jeanne: User
) -> None:
    mailbox = directory[PHARMACY]
    sophie = secretary(mailbox, jeanne, "Sophie Leroy", 1)
    lucas = secretary(mailbox, jeanne, "Lucas Moreau", 2)
    message = EmailMessage()
    message["Subject"] = "Renouvellement d'ordonnance"
    message.set_content("Bonjour, pouvez-vous préparer le renouvellement ?")
    uid = deliver_to(mailbox, message)
    synced(mailbox)
    thread = Conversation.objects.get(mailbox=mailbox, thread_key=message["Message-ID"])
    reader = f"{live_url}/mailbox/{mailbox.pk}/message/{uid}/?folder=INBOX"
    compose = f"{live_url}/mailbox/{mailbox.pk}/compose/?folder=INBOX&reply={uid}"

    lucas_context, sophie_context = (session_of(chromium, live_url, p) for p in (lucas, sophie))
    lucas_page = open_page(lucas_context, reader)
    sophie_page = open_page(sophie_context, reader)
    # Presence: Lucas, there first, sees Sophie arrive.
    lucas_page.wait_for_selector(f'#triage-live [data-person="{sophie.pk}"]', timeout=LIVE_MS)
    assert "Sophie Leroy consulte cette conversation" in lucas_page.inner_text("#triage-live")

    # Sophie takes it: Lucas's page says so without a reload.
    sophie_page.click("#triage button[value=take]")
    sophie_page.wait_for_selector(f'[data-live-assignee="{sophie.pk}"]')
    lucas_page.wait_for_selector(f'[data-live-assignee="{sophie.pk}"]', timeout=LIVE_MS)

    # Both open a reply: only viewing until Sophie types; then Lucas sees her writing.
    lucas_reply = open_page(lucas_context, compose)
    sophie_reply = open_page(sophie_context, compose)
    lucas_reply.wait_for_selector(f'#triage-live [data-person="{sophie.pk}"]', timeout=LIVE_MS)
    assert "rédige" not in lucas_reply.inner_text("#triage-live")
    sophie_reply.locator("#id_text").press_sequentially("C'est prêt, à retirer demain.")
    lucas_reply.wait_for_selector(
        f'#triage-live [data-person="{sophie.pk}"]:has-text("rédige une réponse")',
        timeout=LIVE_MS,
    )
    sophie_reply.click("#compose button.primary[type=submit]")
    sophie_reply.wait_for_url(f"{live_url}/mailbox/{mailbox.pk}/outbox/")

    # Lucas's reply is stopped: what changed, send anyway, discard.
    lucas_reply.fill("#id_text", "Je m'en occupe.")
    lucas_reply.click("#compose button.primary[type=submit]")
    lucas_reply.wait_for_selector("#collision")
    banner = lucas_reply.inner_text("#collision")
    assert "Sophie Leroy" in banner
    assert "a envoyé une réponse" in banner
    assert lucas_reply.is_visible("#collision >> text=Voir ce qui a changé")
    assert lucas_reply.is_visible("#collision >> text=Abandonner")
    assert Outgoing.objects.filter(author=lucas).count() == 0
    lucas_reply.click("#collision button[name=send_anyway]")
    lucas_reply.wait_for_url(f"{live_url}/mailbox/{mailbox.pk}/outbox/")
    assert Outgoing.objects.filter(author=lucas).count() == 1
    thread.refresh_from_db()
    assert thread.assignee == sophie
    for context in (lucas_context, sophie_context):
        context.close()
