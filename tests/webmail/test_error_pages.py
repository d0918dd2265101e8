"""Refusals and errors answer French pages in the site's layout, never Django's bare English
ones (issue 15, defect 7)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

from mailboxes.models import Mailbox, User
from tests.conftest import client_for


def in_layout(html: str) -> bool:
    return 'class="topbar"' in html and 'lang="fr"' in html and "Not Found" not in html


def test_it_answers_a_mailbox_one_may_not_read_with_the_french_404(
    alice: User, charlie: User
) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    page = client_for(charlie).get(reverse("mail-folder", args=[mailbox.pk]))
    html = page.content.decode()
    assert page.status_code == 404
    assert in_layout(html) and "Page introuvable" in html
    assert "Retour à ma messagerie" in html


def test_it_answers_a_crafted_folder_name_with_the_french_404(alice: User) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    for crafted in ("a*b", "%", "x\r\nA1 LOGOUT", "x" * 201):
        page = client_for(alice).get(
            reverse("mail-message", args=[mailbox.pk, 1]), {"folder": crafted}
        )
        assert page.status_code == 404, crafted
        assert "Page introuvable" in page.content.decode()


def test_it_answers_an_expired_form_with_a_french_403(alice: User) -> None:
    client = client_for(alice)
    client.handler.enforce_csrf_checks = True
    page = client.post(reverse("auth-logout"))
    assert page.status_code == 403
    assert "Page expirée" in page.content.decode() and 'class="topbar"' in page.content.decode()


def test_it_has_french_403_500_and_503_pages(db: None) -> None:
    request = RequestFactory().get("/")
    refused = defaults.permission_denied(request, PermissionDenied()).content.decode()
    assert "Accès refusé" in refused and 'class="topbar"' in refused
    failed = defaults.server_error(request)
    assert failed.status_code == 500 and "Une erreur est survenue" in failed.content.decode()
    assert 'class="topbar"' in failed.content.decode()
    from django.template.loader import render_to_string

    assert "Service indisponible" in render_to_string("503.html")


def test_a_form_only_address_opened_as_a_link_gets_a_french_page(alice: User) -> None:
    """The demo walk: /mailbox/N/actions/ opened by hand answered an empty 405, and Chromium
    showed its own English "HTTP ERROR 405"."""
    mailbox = Mailbox.objects.get(owner=alice)
    page = client_for(alice).get(reverse("mail-draft", args=[mailbox.pk]))
    html = page.content.decode()
    assert page.status_code == 405 and "POST" in page["Allow"]
    assert in_layout(html) and "Rien à afficher ici" in html
    posted = client_for(alice).put(reverse("mail-draft", args=[mailbox.pk]))
    assert posted.status_code == 405 and posted.content == b""  # not a page a person opens
