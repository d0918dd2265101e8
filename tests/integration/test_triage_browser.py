"""Two secretaries of the pharmacy on its shared mailbox, in two headless Chromium sessions:
each sees the other arrive and leave within 2 s, an assignment shows live, "X is writing a
reply" too, all told over the tab's event stream (an idle page asks nothing but its slow
heartbeat), and the second reply to the same conversation is stopped with the choice.
Without the stream the panel still follows, on the slow poll. Real Dovecot, Postfix, Redis,
PostgreSQL; the events server (uvicorn on webmail.asgi) or the threaded live server."""

from __future__ import annotations

import time
from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request
from pytest_django import Settings

from mailboxes.models import Delegation, Mailbox, Outgoing, User
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, events_server, free_port, synced
from triage import actions, presence
from triage.models import Conversation

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PHARMACY = "pharmacie.marche@operateur-a.mssante.test"
LIVE_MS = 2000  # told over the event stream: within 2 s (the 2-s poll it replaced needed 3)
IDLE_SECONDS = 10


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


def a_message(mailbox: Mailbox) -> tuple[int, Conversation]:
    message = EmailMessage()
    message["Subject"] = "Renouvellement d'ordonnance"
    message.set_content("Bonjour, pouvez-vous préparer le renouvellement ?")
    uid = deliver_to(mailbox, message)
    synced(mailbox)
    return uid, Conversation.objects.get(mailbox=mailbox, thread_key=message["Message-ID"])


def other(person: User) -> str:
    return f'#triage-live [data-person="{person.pk}"]'


# WhiteNoise's static files are sync iterators, which Django's ASGI handler reads whole: only
# here, where the events server also serves the pages' scripts (behind the proxy it never does).
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
def test_an_idle_conversation_asks_nothing_and_hears_the_others_within_2_s(
    chromium: Browser, directory: dict[str, Mailbox], jeanne: User
) -> None:
    mailbox = directory[PHARMACY]
    sophie = secretary(mailbox, jeanne, "Sophie Leroy", 1)
    lucas = secretary(mailbox, jeanne, "Lucas Moreau", 2)
    uid, _ = a_message(mailbox)
    with events_server(free_port()) as base:
        reader = f"{base}/mailbox/{mailbox.pk}/message/{uid}/?folder=INBOX"
        lucas_context, sophie_context = (session_of(chromium, base, p) for p in (lucas, sophie))
        lucas_page = open_page(lucas_context, reader)
        asked: list[Request] = []
        lucas_page.on("request", lambda request: asked.append(request))
        lucas_page.wait_for_function("document.visibilityState === 'visible'")
        lucas_page.wait_for_timeout(1000)  # its stream opened (and its panel asked once)

        # Sophie arrives: Lucas sees her within 2 s, without a poll.
        started = time.monotonic()
        sophie_page = open_page(sophie_context, reader)
        lucas_page.wait_for_selector(other(sophie), timeout=LIVE_MS)
        assert time.monotonic() - started < LIVE_MS / 1000 + 1  # her page's load included
        assert "Sophie Leroy consulte cette conversation" in lucas_page.inner_text("#triage-live")

        # She takes it: Lucas's panel says so within 2 s (the `triage` event, then one ask).
        sophie_page.click("#triage button[value=take]")
        sophie_page.wait_for_selector(f'[data-live-assignee="{sophie.pk}"]')
        lucas_page.wait_for_selector(f'[data-live-assignee="{sophie.pk}"]', timeout=LIVE_MS)
        assert "En cours" in lucas_page.inner_text("#triage-live")
        # His forms follow the state: Sophie chosen in his assignee list, the statuses after
        # "En cours"; acting from them goes back to his page, not to the panel's redraw.
        lucas_page.wait_for_function(
            "id => document.querySelector('#triage-state-forms select[name=assignee]').value"
            " === id",
            arg=str(sophie.pk),
            timeout=LIVE_MS,
        )
        buttons = "#triage-state-forms button[name=status]"
        statuses = lucas_page.eval_on_selector_all(buttons, "all => all.map(b => b.value)")
        assert sorted(statuses) == ["done", "waiting"]
        with lucas_page.expect_navigation():
            lucas_page.click(f"{buttons}[value=waiting]")
        assert f"/mailbox/{mailbox.pk}/message/{uid}/" in lucas_page.url
        lucas_page.wait_for_selector('[data-status="waiting"]')
        sophie_page.wait_for_selector('[data-status="waiting"]', timeout=LIVE_MS)

        # Idle: nothing asked on a clock, the live panel at most its heartbeat (every 25 s).
        lucas_page.wait_for_timeout(500)
        asked.clear()
        lucas_page.wait_for_timeout(IDLE_SECONDS * 1000)
        idle = [r.url for r in asked]
        beats = [url for url in idle if "/triage/live/" in url]
        assert len(beats) <= IDLE_SECONDS // presence.HEARTBEAT_SECONDS + 1, idle
        assert [url for url in idle if "/triage/live/" not in url] == []

        # Sophie closes her page: gone from Lucas's within 2 s (its beacon), no expiry waited.
        sophie_page.close()
        lucas_page.wait_for_selector(other(sophie), state="detached", timeout=LIVE_MS)
        for context in (lucas_context, sophie_context):
            context.close()


def test_two_secretaries_see_each_other_write_and_the_second_reply_is_stopped(
    chromium: Browser, live_url: str, directory: dict[str, Mailbox], jeanne: User
) -> None:
    """The same over the threaded live server (as `manage.py runserver` and the demo serve
    the event stream), through the composer."""
    mailbox = directory[PHARMACY]
    sophie = secretary(mailbox, jeanne, "Sophie Leroy", 1)
    lucas = secretary(mailbox, jeanne, "Lucas Moreau", 2)
    uid, thread = a_message(mailbox)
    reader = f"{live_url}/mailbox/{mailbox.pk}/message/{uid}/?folder=INBOX"
    compose = f"{live_url}/mailbox/{mailbox.pk}/compose/?folder=INBOX&reply={uid}"

    lucas_context, sophie_context = (session_of(chromium, live_url, p) for p in (lucas, sophie))
    lucas_page = open_page(lucas_context, reader)
    sophie_page = open_page(sophie_context, reader)
    lucas_page.wait_for_selector(other(sophie), timeout=LIVE_MS)

    # Sophie takes it: Lucas's page says so without a reload.
    sophie_page.click("#triage button[value=take]")
    sophie_page.wait_for_selector(f'[data-live-assignee="{sophie.pk}"]')
    lucas_page.wait_for_selector(f'[data-live-assignee="{sophie.pk}"]', timeout=LIVE_MS)

    # Both open a reply: only viewing until Sophie types; then Lucas sees her writing, and
    # only viewing again once she stopped (her composer says so after a pause).
    lucas_reply = open_page(lucas_context, compose)
    sophie_reply = open_page(sophie_context, compose)
    lucas_reply.wait_for_selector(other(sophie), timeout=LIVE_MS)
    assert "rédige" not in lucas_reply.inner_text("#triage-live")
    sophie_reply.locator("#id_text").press_sequentially("C'est prêt.")
    writing = f'{other(sophie)}:has-text("rédige une réponse")'
    lucas_reply.wait_for_selector(writing, timeout=LIVE_MS)
    lucas_reply.wait_for_selector(
        f'{other(sophie)}:has-text("consulte")', timeout=presence.TYPING_SECONDS * 1000 + LIVE_MS
    )
    sophie_reply.locator("#id_text").press_sequentially(" À retirer demain.")
    lucas_reply.wait_for_selector(writing, timeout=LIVE_MS)
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


def test_without_its_event_stream_the_panel_follows_on_the_slow_poll(
    chromium: Browser,
    live_url: str,
    directory: dict[str, Mailbox],
    jeanne: User,
    settings: Settings,
) -> None:
    settings.WEBMAIL_LIVE_FALLBACK_SECONDS = 1
    mailbox = directory[PHARMACY]
    sophie = secretary(mailbox, jeanne, "Sophie Leroy", 1)
    lucas = secretary(mailbox, jeanne, "Lucas Moreau", 2)
    uid, thread = a_message(mailbox)
    context = session_of(chromium, live_url, lucas)
    context.route("**/events/**", lambda route: route.abort("connectionrefused"))
    page = open_page(context, f"{live_url}/mailbox/{mailbox.pk}/message/{uid}/?folder=INBOX")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/triage/live/" in r.url else None)
    actions.do_assign(sophie, mailbox, thread.thread_key, sophie)  # committed: told, unheard
    page.wait_for_selector(f'[data-live-assignee="{sophie.pk}"]', timeout=5000)
    assert asked  # on the fallback's clock
    context.close()
