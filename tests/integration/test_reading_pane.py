"""The reading pane against the real Dovecot (issue 15): the reader's own view answers it,
so opening a message there marks it read and audits it exactly as its page does."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from mailboxes.models import AuditEvent, Mailbox, User
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, flags_of, synced

pytestmark = pytest.mark.integration
PANE = {"HX-Request": "true", "HX-Target": "reader-pane"}


def note(subject: str, html: bool = False) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message.set_content("Texte du message")
    if html:
        message.add_alternative("<p>Le <b>compte rendu</b> en HTML.</p>", subtype="html")
    return message


def opened(client: Client, mailbox: Mailbox, uid: int, **headers: str) -> str:
    url = reverse("mail-message", args=[mailbox.pk, uid])
    response = client.get(url, {"folder": "INBOX"}, headers=headers)
    assert response.status_code == 200
    assert "HX-Target" in response["Vary"]  # never the pane's answer for the page, or back
    return response.content.decode()


def test_the_pane_gets_the_readers_message_read_and_audited_as_its_page(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    in_pane = deliver_to(jeanne_mailbox, note("Ouvert dans le volet", html=True))
    on_page = deliver_to(jeanne_mailbox, note("Ouvert sur sa page", html=True))
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    pane = opened(client, jeanne_mailbox, in_pane, **PANE)
    page = opened(client, jeanne_mailbox, on_page)
    assert "<html" not in pane and 'class="topbar"' not in pane  # the message alone
    assert '<h2 class="subject" id="pane-subject" tabindex="-1">Ouvert dans le volet</h2>' in pane
    assert "<html" in page and "<h1>Ouvert sur sa page</h1>" in page
    for html in (pane, page):  # the same partial: actions, frame, attachments' place
        assert 'class="message-actions"' in html and 'data-shortcut="r"' in html
        frame = re.search(r'<iframe class="body" sandbox="([^"]*)"', html)
        assert frame and "allow-scripts" not in frame.group(1)
    assert 'class="full-page"' in pane and "Ouvrir en pleine page" in pane
    assert "<script" not in pane  # htmx is the list page's already
    for uid in (in_pane, on_page):
        assert b"\\Seen" in flags_of(jeanne_mailbox, uid)
    reads = AuditEvent.objects.filter(action="message.read").order_by("pk")
    assert [(e.target.split()[0], e.outcome) for e in reads] == [
        (f"INBOX/{in_pane}", "ok"),
        (f"INBOX/{on_page}", "ok"),
    ]


def test_the_reader_leads_to_the_previous_and_next_message_of_the_list(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    older = deliver_to(jeanne_mailbox, note("Le plus ancien"))
    middle = deliver_to(jeanne_mailbox, note("Celui du milieu"))
    newer = deliver_to(jeanne_mailbox, note("Le plus récent"))
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    base = reverse("mail-folder", args=[jeanne_mailbox.pk])
    page = opened(client, jeanne_mailbox, middle)
    assert f'href="{base}message/{newer}/?folder=INBOX" id="message-previous"' in page
    assert f'href="{base}message/{older}/?folder=INBOX" id="message-next"' in page
    assert 'data-shortcut="j"' in page and 'data-shortcut="k"' in page
    assert f'href="{base}?folder=INBOX" data-shortcut="u"' in page
    ascending = client.get(
        reverse("mail-message", args=[jeanne_mailbox.pk, middle]),
        {"folder": "INBOX", "order": "asc"},
    ).content.decode()
    assert f'href="{base}message/{older}/?folder=INBOX&amp;order=asc" id="message-previous"' in (
        ascending
    )
    pane = opened(client, jeanne_mailbox, middle, **PANE)
    assert 'id="message-previous"' in pane and 'data-shortcut="k"' not in pane  # the list's j/k
    # The pane's forms lead back to the list, not to a message page of their own.
    assert f'name="next" value="{base}?folder=INBOX"' in pane


def test_the_pane_says_in_french_when_the_operator_is_away(
    jeanne: User, jeanne_mailbox: Mailbox, settings: Settings
) -> None:
    uid = deliver_to(jeanne_mailbox, note("Pendant la panne"))
    synced(jeanne_mailbox)
    settings.OPERATOR_IMAP_PORT = 1
    url = reverse("mail-message", args=[jeanne_mailbox.pk, uid])
    response = client_for(jeanne).get(url, {"folder": "INBOX"}, headers=PANE)
    assert response.status_code == 503
    html = response.content.decode()
    assert "<html" not in html and "injoignable" in html
