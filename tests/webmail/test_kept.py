"""The top bar is kept per person, language and offer (webmail/templatetags/kept.py): each
person sees their own, with a CSRF token of their own session and the page's own address."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from mailboxes import access
from mailboxes.models import Notification, User
from tests.conftest import client_for
from webmail.templatetags import kept

pytestmark = pytest.mark.django_db


def topbar(html: str) -> str:
    found = re.search(r'<header class="topbar">.*?</header>', html, re.S)
    assert found, html[:2000]
    return found.group(0)


def test_each_person_gets_their_own_bar_with_their_own_session_s_token(
    alice: User, charlie: User
) -> None:
    kept._kept.clear()
    alice.first_name, alice.last_name = "Alice", "Martin"
    alice.save()
    url = reverse("directory-page")
    bars = {}
    for person in (alice, charlie, alice):
        client = client_for(person)
        page = client.get(url, {"q": '"><script>', "x": "1"})
        assert page.status_code == 200
        bar = topbar(page.content.decode())
        assert kept.CSRF_SLOT not in bar and kept.PATH_SLOT not in bar
        bars.setdefault(person.pk, []).append(bar)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', bar)
        assert token
        # The logout form's token is this session's: the form works.
        logout = client.post(reverse("auth-logout"), {"csrfmiddlewaretoken": token.group(1)})
        assert logout.status_code == 302
    assert "Alice Martin" in bars[alice.pk][0] and "Alice Martin" not in bars[charlie.pk][0]
    assert "charlie" in bars[charlie.pk][0]
    # The language switch leads back to this very page, escaped.
    assert 'value="/directory/?q=%22%3E%3Cscript%3E&amp;x=1"' in bars[alice.pk][1]
    assert "<script>" not in bars[alice.pk][1]


def test_what_the_bar_offers_is_part_of_its_key(alice: User) -> None:
    kept._kept.clear()
    client = client_for(alice)
    url = reverse("directory-page")
    assert "notification" not in topbar(client.get(url).content.decode())
    Notification.objects.create(person=alice, text="Délégation accordée")
    access.forget_navigation(alice.pk)  # as delegations.notify does once committed
    assert "1 notification" in topbar(client.get(url).content.decode())


def test_an_anonymous_page_has_the_bar_without_the_person(alice: User) -> None:
    kept._kept.clear()
    client_for(alice).get(reverse("directory-page"))
    login = Client().get(reverse("auth-login"))
    assert login.status_code == 200
    bar = topbar(login.content.decode())
    assert "auth-logout" not in bar and reverse("auth-logout") not in bar
    assert 'name="language"' in bar
