"""Every mailbox-scoped URL refuses a person without rights with 404 (existence never leaks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mailboxes.models import Delegation, Mailbox, Structure, User
from tests.conftest import client_for


def mailbox_routes(patterns: list[object] | None = None, prefix: str = "") -> Iterator[URLPattern]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from mailbox_routes(entry.url_patterns)
        elif isinstance(entry, URLPattern) and "mailbox_id" in getattr(
            entry.pattern, "converters", {}
        ):
            yield entry


def urls_for(mailbox: Mailbox) -> list[str]:
    urls = []
    for route in mailbox_routes():
        kwargs = {
            name: (mailbox.pk if name == "mailbox_id" else 1)
            for name in route.pattern.converters  # type: ignore[attr-defined]
        }
        urls.append(reverse(route.name, kwargs=kwargs))
    return urls


@pytest.fixture
def org_mailbox(pharmacy: Structure) -> Mailbox:
    return Mailbox.objects.create(address="officine@a.test", kind="ORG", structure=pharmacy)


def test_it_finds_the_mailbox_scoped_urls() -> None:
    names = {route.name for route in mailbox_routes()}
    assert {"mail-folder", "mail-message", "admin-delegations", "admin-audit"} <= names


@pytest.mark.django_db
def test_it_answers_404_to_a_person_without_a_delegation(
    org_mailbox: Mailbox, charlie: User
) -> None:
    client = client_for(charlie)
    for url in urls_for(org_mailbox):
        for method in (client.get, client.post):
            assert method(url).status_code == 404, (method.__name__, url)


def test_it_answers_404_to_a_reader_on_management_urls(org_mailbox: Mailbox, charlie: User) -> None:
    Delegation.objects.create(person=charlie, mailbox=org_mailbox, role="reader")
    client = client_for(charlie)
    management = [u for u in urls_for(org_mailbox) if "/delegations/" in u or "/audit/" in u]
    assert len(management) == 4
    for url in management:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
