"""Reading the inbox and a message, straight from the real Dovecot."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from pytest_django import Settings

from mailboxes.models import AuditEvent, Mailbox, User
from mailboxes.operator import OperatorUnavailable
from tests.conftest import client_for
from tests.integration.helpers import flags_of, synced, uid_of
from webmail.demo import messages

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("demo_mail")]
MARIE_ADDRESS = "marie.durand@operateur-a.mssante.test"


def demo(key: str) -> messages.DemoMessage:
    return next(m for m in messages.MESSAGES if m.key == key)


def test_it_lists_the_inbox_newest_first(marie: User, marie_mailbox: Mailbox) -> None:
    synced(marie_mailbox)
    page = client_for(marie).get(reverse("mail-folder", args=[marie_mailbox.pk]))
    assert page.status_code == 200
    expected = sorted(
        (m for m in messages.MESSAGES if messages.address_of(m.to) == MARIE_ADDRESS),
        key=lambda m: m.hours_ago,
    )
    html = page.content.decode()
    positions = [html.find(m.subject.replace("'", "&#x27;")) for m in expected]
    assert -1 not in positions
    assert positions == sorted(positions)
    assert f"{len(expected)} messages" in html


def test_it_opens_a_message_with_its_headers_body_and_attachment(
    marie: User, marie_mailbox: Mailbox
) -> None:
    message = demo("04")
    uid = uid_of(marie_mailbox, message.message_id)
    page = client_for(marie).get(reverse("mail-message", args=[marie_mailbox.pk, uid]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Dr Karim BENALI &lt;karim.benali@hopital-c.mssante.test&gt;" in html
    assert "FEVG conservée à 60 %" in html
    assert "Échographie_cardiaque_Bernard.pdf" in html
    assert re.search(r"novembre|décembre|janvier", html)  # the date, in French
    assert b"\\Seen" in flags_of(marie_mailbox, uid)


def test_it_audits_the_opening_without_any_content(marie: User, marie_mailbox: Mailbox) -> None:
    message = demo("01")
    uid = uid_of(marie_mailbox, message.message_id)
    client_for(marie).get(reverse("mail-message", args=[marie_mailbox.pk, uid]))
    event = AuditEvent.objects.get(action="message.read")
    assert event.actor == marie and event.mailbox == marie_mailbox and event.outcome == "ok"
    assert event.target == f"INBOX/{uid} {message.message_id}"
    stored = " ".join(str(v) for row in AuditEvent.objects.values_list() for v in row)
    for word in ("consultation", "Bernard", "dyspnée", "cardiologique"):
        assert word not in stored


def test_it_shows_an_html_body_in_a_sandboxed_frame(marie: User, marie_mailbox: Mailbox) -> None:
    uid = uid_of(marie_mailbox, demo("03").message_id)
    client = client_for(marie)
    html = client.get(reverse("mail-message", args=[marie_mailbox.pk, uid])).content.decode()
    frame = re.search(r'<iframe class="body" sandbox="([^"]*)"[^>]* src="([^"]+)"', html)
    # Same-origin so that the page sizes it to its content (issue 15); never a script.
    assert frame and frame.group(1) == (
        "allow-same-origin allow-popups allow-popups-to-escape-sandbox"
    )
    assert "<table" not in html  # the HTML itself never enters the site's own page
    body = client.get(frame.group(2).replace("&amp;", "&"))
    assert "Salle 2, bâtiment B" in body.content.decode()
    assert "default-src 'none'" in body["Content-Security-Policy"]
    assert body["Content-Security-Policy"].endswith(
        "; sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox"
    )


def test_it_answers_404_for_someone_elses_mailbox(karim: User, marie_mailbox: Mailbox) -> None:
    client = client_for(karim)
    uid = uid_of(marie_mailbox, demo("01").message_id)
    assert client.get(reverse("mail-folder", args=[marie_mailbox.pk])).status_code == 404
    assert client.get(reverse("mail-message", args=[marie_mailbox.pk, uid])).status_code == 404
    assert client.get(reverse("mail-folder", args=[987654])).status_code == 404
    assert not AuditEvent.objects.filter(action="message.read").exists()


def test_it_answers_404_for_a_missing_message_or_a_hostile_folder(
    marie: User, marie_mailbox: Mailbox
) -> None:
    client = client_for(marie)
    assert client.get(reverse("mail-message", args=[marie_mailbox.pk, 99999])).status_code == 404
    url = reverse("mail-folder", args=[marie_mailbox.pk])
    assert client.get(url, {"folder": "*"}).status_code == 404
    assert client.get(url, {"folder": "INBOX\r\nA1 LOGOUT"}).status_code == 404


def test_it_says_clearly_when_the_operator_is_down(
    marie: User, marie_mailbox: Mailbox, settings: Settings
) -> None:
    synced(marie_mailbox)
    settings.OPERATOR_IMAP_PORT = 1
    with pytest.raises(OperatorUnavailable):
        synced(marie_mailbox)
    page = client_for(marie).get(reverse("mail-folder", args=[marie_mailbox.pk]))
    html = page.content.decode()
    assert page.status_code == 200  # the cached list, under a banner
    assert "est injoignable pour le moment" in html and "Cette liste est celle du" in html
    assert "Résultats d&#x27;échographie" in html


def test_it_speaks_english_on_request(marie: User, marie_mailbox: Mailbox) -> None:
    client = client_for(marie)
    page = client.get(reverse("mail-folder", args=[marie_mailbox.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Inbox" in page.content.decode()


def test_it_answers_404_for_a_missing_folder_without_blaming_the_operator_login(
    marie: User, marie_mailbox: Mailbox
) -> None:
    client = client_for(marie)
    for view in ("mail-message", "mail-body", "mail-raw"):
        url = reverse(view, args=[marie_mailbox.pk, 1])
        assert client.get(url, {"folder": "Dossier disparu"}).status_code == 404, view
    logins = AuditEvent.objects.filter(action="operator.login")
    assert list(logins.values_list("outcome", flat=True)) == ["ok"]  # the first success
