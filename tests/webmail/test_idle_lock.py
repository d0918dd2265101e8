"""The idle lock: only a person's own requests count as activity, never the page's polls
(issue 10, item 3)."""

from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from mailboxes.models import AuditEvent, Mailbox, User
from tests.conftest import client_for
from webmail.auth import session

TIMEOUT = 300
STEP = 60  # each round, the session's clock goes back a minute, as if a minute had passed


def older(client: Client, seconds: float) -> None:
    """As if `seconds` had passed since the session was last used."""
    store = client.session
    store[session.SEEN] -= seconds
    store[session.STARTED] -= seconds
    store.save()


def poll(client: Client, user: User) -> object:
    mailbox = user.owned_mailboxes.get()  # type: ignore[attr-defined]
    return client.get(
        reverse("mail-changes", args=[mailbox.pk]), {"v": "0"}, headers={"HX-Request": "true"}
    )


@pytest.fixture
def alice_client(alice: User) -> Client:
    return client_for(alice)


@override_settings(WEBMAIL_IDLE_TIMEOUT=TIMEOUT)
def test_it_ends_a_session_that_only_polls(alice: User, alice_client: Client) -> None:
    answers = []
    for _ in range(2 * TIMEOUT // STEP):
        older(alice_client, STEP)
        answers.append(poll(alice_client, alice))
        if "HX-Redirect" in answers[-1]:  # type: ignore[operator]
            break
    ended = answers[-1]
    assert "HX-Redirect" in ended, [a.status_code for a in answers]  # type: ignore[attr-defined]
    # htmx follows the header to the login page; a plain redirect would be swapped into the list.
    assert ended["HX-Redirect"] == reverse("auth-login") + "?ended=idle"  # type: ignore[index]
    assert ended.status_code == 204  # type: ignore[attr-defined]
    # Ended by the first poll past the timeout (the 5th ages it by 300 s and a few ms), not before.
    assert TIMEOUT // STEP <= len(answers) <= TIMEOUT // STEP + 1
    assert AuditEvent.objects.filter(action="session.end", response="idle").exists()
    page = alice_client.get(reverse("mail-home"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("auth-login"))


@override_settings(WEBMAIL_IDLE_TIMEOUT=TIMEOUT)
def test_a_poll_does_not_move_the_idle_clock(alice: User, alice_client: Client) -> None:
    older(alice_client, TIMEOUT - 10)
    seen = alice_client.session[session.SEEN]
    assert poll(alice_client, alice).status_code in (200, 204)  # type: ignore[attr-defined]
    assert alice_client.session[session.SEEN] == seen


@override_settings(WEBMAIL_IDLE_TIMEOUT=TIMEOUT)
def test_a_click_between_polls_keeps_the_session(alice: User, alice_client: Client) -> None:
    mailbox = alice.owned_mailboxes.get()  # type: ignore[attr-defined]
    for round_ in range(3 * TIMEOUT // STEP):
        older(alice_client, STEP)
        answer = poll(alice_client, alice)
        assert "HX-Redirect" not in answer, round_  # type: ignore[operator]
        if round_ % 3 == 2:  # the person clicks now and then
            page = alice_client.get(reverse("mail-folder", args=[mailbox.pk]))
            assert page.status_code == 200, round_
    assert time.time() - alice_client.session[session.SEEN] < TIMEOUT


@override_settings(WEBMAIL_IDLE_TIMEOUT=TIMEOUT)
def test_an_idle_page_request_is_still_sent_to_the_login_page(alice_client: Client) -> None:
    older(alice_client, TIMEOUT + 1)
    page = alice_client.get(reverse("mail-home"))
    assert page.status_code == 302 and page["Location"] == reverse("auth-login") + "?ended=idle"


def test_a_poll_after_the_session_ended_elsewhere_sends_the_page_to_login(
    alice: User,
) -> None:
    """Logged out in another tab: the open list's next poll must not draw the login page
    into the list (found walking the demo), but send the whole page there."""
    mailbox = Mailbox.objects.get(owner=alice)
    answer = Client().get(
        reverse("mail-changes", args=[mailbox.pk]), {"v": "0"}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 204 and answer["HX-Redirect"] == reverse("auth-login")
    page = Client().get(reverse("mail-folder", args=[mailbox.pk]))  # a plain visit: as before
    assert page.status_code == 302 and page.url.startswith(reverse("auth-login") + "?next=")
