"""The reading pane's parts that need no operator (issue 15): the person's choice of layout,
kept on their account; the list's links carrying its order; "previous" and "next" in the
order the list was shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from mailboxes.mail.folders import Listing
from mailboxes.mailcache import cache
from mailboxes.models import Folder, Mailbox, MessageIndex, User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
SUBJECTS = ["Bilan", "Échographie", "Résultats", "Avis", "Compte rendu"]


@pytest.fixture
def inbox(marie_mailbox: Mailbox) -> Folder:
    """Five messages, one a day, UIDs 1 to 5 (5 the newest); 2 and 4 unread."""
    folder = Folder.objects.create(
        mailbox=marie_mailbox, name="INBOX", uidvalidity=1, messages=5, unseen=2
    )
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    for uid, subject in enumerate(SUBJECTS, start=1):
        MessageIndex.objects.create(
            folder=folder,
            uid=uid,
            subject=subject,
            sort_subject=subject.lower().replace("é", "e"),
            date=start + timedelta(days=uid),
            sender_address="karim.benali@hopital-c.mssante.test",
            seen=uid not in (2, 4),
        )
    return folder


def test_it_walks_the_list_in_the_order_it_was_shown(marie_mailbox: Mailbox, inbox: Folder) -> None:
    def around(uid: int, listing: Listing) -> tuple[int | None, int | None]:
        return cache.neighbours(marie_mailbox, "INBOX", uid, listing)

    newest_first = Listing()
    assert around(5, newest_first) == (None, 4)  # the top of the list
    assert around(3, newest_first) == (4, 2)
    assert around(1, newest_first) == (2, None)
    assert around(3, Listing(descending=False)) == (2, 4)
    # By subject, A to Z: Avis 4, Bilan 1, Compte rendu 5, Échographie 2, Résultats 3.
    assert around(5, Listing(sort="subject", descending=False)) == (1, 2)
    # Unread only: 4 and 2; 3, just opened (read), keeps its place between them.
    assert around(3, Listing(unread_only=True)) == (4, 2)
    assert around(99, newest_first) == (None, None)


def test_the_lists_links_carry_its_order_to_the_reader(
    marie: User, marie_mailbox: Mailbox, inbox: Folder
) -> None:
    url = reverse("mail-folder", args=[marie_mailbox.pk])
    page = client_for(marie).get(url, {"sort": "subject", "order": "asc", "unread": "1"})
    html = page.content.decode()
    assert (
        f'href="{url}message/4/?folder=INBOX&amp;sort=subject&amp;order=asc&amp;unread=1"' in html
    )
    plain = client_for(marie).get(url).content.decode()
    assert f'href="{url}message/5/?folder=INBOX"' in plain


def test_the_layout_is_chosen_once_and_kept_for_the_person(
    marie: User, marie_mailbox: Mailbox, inbox: Folder
) -> None:
    client = client_for(marie)
    url = reverse("mail-folder", args=[marie_mailbox.pk])
    page = client.get(url).content.decode()
    assert 'id="reader-pane"' not in page  # no pane unless chosen
    assert 'value="off" class="button" aria-pressed="true"' in page
    assert "<legend>Volet de lecture</legend>" in page and ">À droite</button>" in page
    answer = client.post(
        reverse("mail-reading-pane"), {"reading_pane": "right", "next": f"{url}?folder=INBOX"}
    )
    assert answer.status_code == 302 and answer["Location"] == f"{url}?folder=INBOX"
    marie.refresh_from_db()
    assert marie.reading_pane == "right"
    page = client_for(marie).get(url).content.decode()  # another browser: the same choice
    assert 'class="layout with-pane pane-right"' in page
    assert 'id="reader-pane"' in page and 'aria-label="Volet de lecture"' in page
    assert "Choisissez un message dans la liste pour le lire ici." in page
    assert 'value="right" class="button" aria-pressed="true"' in page
    assert "js/pane.js" in page and "js/reader.js" in page


def test_a_bad_layout_or_a_foreign_next_is_refused(marie: User) -> None:
    client = client_for(marie)
    url = reverse("mail-reading-pane")
    assert client.post(url, {"reading_pane": "sideways"}).status_code == 400
    assert client.get(url).status_code == 405
    away = client.post(url, {"reading_pane": "below", "next": "https://elsewhere.example/"})
    assert away["Location"] == reverse("mail-home")
    marie.refresh_from_db()
    assert marie.reading_pane == "below"
    anonymous = client_for(marie)
    anonymous.logout()
    assert anonymous.post(url, {"reading_pane": "off"}).status_code == 302  # to the login
    marie.refresh_from_db()
    assert marie.reading_pane == "below"
