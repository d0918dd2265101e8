"""A Content-Security-Policy on every application page, the reader's frame keeping exactly its
own, and `Cache-Control: no-store` wherever health data or login secrets show, so a browser
keeps none of it on disk after logout (issue 10, item 7)."""

from __future__ import annotations

import os
import re
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from mailboxes.models import AppDevice, Mailbox, Structure, User
from tests.conftest import client_for
from tests.integration.helpers import deliver_to
from tests.webmail.test_local_accounts import PASSWORD, SOPHIE, invite
from webmail.views import reader

pytestmark = pytest.mark.integration
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"
SITE_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "frame-src": {"'self'"},
    "frame-ancestors": {"'none'"},
    # Logout redirects to PSC's end_session after its POST (see test_browser).
    "form-action": {"'self'", "http://" + urlsplit(os.environ["PSC_LOCAL_BASE_URL"]).netloc},
    "base-uri": {"'none'"},
    "object-src": {"'none'"},
}


def policy_of(response: HttpResponse) -> dict[str, set[str]]:
    assert "Content-Security-Policy-Report-Only" not in response
    directives = [d.split() for d in response["Content-Security-Policy"].split(";") if d.strip()]
    return {name: set(values) for name, *values in directives}


def assert_site_headers(response: HttpResponse, what: str) -> None:
    assert response.status_code == 200, what
    assert policy_of(response) == SITE_POLICY, what
    assert "no-store" in response["Cache-Control"], what
    assert response["X-Frame-Options"] == "DENY", what  # as frame-ancestors 'none'


def html_message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Compte rendu"
    message.set_content("Texte")
    message.add_alternative("<p>Compte rendu <b>joint</b>.</p>", subtype="html")
    message.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png", filename="a.png")
    return message


def test_every_application_page_has_the_site_policy_and_no_store(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    uid = deliver_to(jeanne_mailbox, html_message())
    client = client_for(jeanne)
    pk = jeanne_mailbox.pk
    pages = {
        "list": reverse("mail-folder", args=[pk]),
        "reader": reverse("mail-message", args=[pk, uid]),
        "search": reverse("mail-search") + "?q=compte",
        "compose": reverse("mail-compose", args=[pk]),
        "reply": reverse("mail-compose", args=[pk]) + f"?reply={uid}",
        "outbox": reverse("mail-outbox", args=[pk]),
        "audit": reverse("admin-audit", args=[pk]),
        "delegations": reverse("admin-delegations", args=[pk]),
        "notifications": reverse("mail-notifications"),
    }
    for what, url in pages.items():
        assert_site_headers(client.get(url), what)
    changes = client.get(reverse("mail-changes", args=[pk]), {"v": "-1"})
    assert "no-store" in changes["Cache-Control"]


def test_the_body_frame_and_parts_keep_exactly_their_own_policy(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    uid = deliver_to(jeanne_mailbox, html_message())
    client = client_for(jeanne)
    page = client.get(reverse("mail-message", args=[jeanne_mailbox.pk, uid])).content.decode()
    frame = re.search(r'<iframe class="body"[^>]* src="([^"]+)"', page)
    assert frame
    body = client.get(frame.group(1).replace("&amp;", "&"))
    assert body["Content-Security-Policy"] == reader.BODY_CSP.format(remote="")
    assert "Content-Security-Policy-Report-Only" not in body
    assert "no-store" in body["Cache-Control"]
    assert body["X-Frame-Options"] == "SAMEORIGIN"  # framed by the reader
    shown = client.get(frame.group(1).replace("&amp;", "&") + "&images=1")
    assert shown["Content-Security-Policy"] == reader.BODY_CSP.format(remote=" https: http:")
    part = re.search(r'href="(/mailbox/\d+/message/\d+/part/\d+/\?folder=INBOX)"', page)
    assert part
    image = client.get(part.group(1) + "&inline=1")
    assert image["Content-Security-Policy"] == reader.PART_CSP + "; sandbox"
    assert "Content-Security-Policy-Report-Only" not in image


def test_login_and_enrolment_pages_are_not_stored(pharmacy: Structure) -> None:
    manager = User.objects.create_user("gerante", subject_name_id="810209876543")
    pharmacy.managers.add(manager)
    token = invite(manager)
    browser = Client()
    assert_site_headers(browser.get(reverse("auth-login")), "login")
    assert_site_headers(browser.get(reverse("auth-invitation")), "invitation")
    browser.post(reverse("auth-invitation"), {"token": token})
    password_page = reverse("auth-invitation-password")
    assert_site_headers(browser.get(password_page), "invitation")
    browser.post(password_page, {"password1": PASSWORD, "password2": PASSWORD})
    assert_site_headers(browser.get(reverse("auth-enrol")), "enrolment")  # the TOTP secret
    device = AppDevice.objects.get(confirmed=False, user__email=SOPHIE.lower())
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    browser.post(reverse("auth-enrol"), {"code": f"{totp.token():06d}"})
    assert_site_headers(browser.get(reverse("auth-backup-codes")), "backup codes")


def test_static_files_keep_their_own_cache_control(client: Client) -> None:
    response = client.get("/static/css/webmail.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
