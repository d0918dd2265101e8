"""The list pages over the cache, without the operator: first sync, an unreachable
operator, the poll, the search form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mailboxes import locks
from mailboxes.mailcache import live, search
from mailboxes.models import AuditEvent, Folder, Mailbox, MessageIndex, SyncState, User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(marie_mailbox: Mailbox) -> Folder:
    folder = Folder.objects.create(
        mailbox=marie_mailbox, name="INBOX", messages=2, unseen=1, uidvalidity=1
    )
    for uid, subject in ((1, "Premier"), (2, "XDM/1.0/DDM+Compte rendu DUPONT Jean")):
        MessageIndex.objects.create(
            folder=folder,
            uid=uid,
            subject=subject,
            date=datetime(2026, 11, 20, 8, uid, tzinfo=UTC),
            seen=uid == 1,
            has_xdm=uid == 2,
            preview="Bonjour",
        )
    return folder


@pytest.fixture
def sync_lock(marie_mailbox: Mailbox) -> Iterator[str]:
    """The mailbox's sync lock, as a worker syncing it holds it."""
    key = locks.sync_key(marie_mailbox.pk)
    locks.client().set(key, "worker", ex=60)
    yield key
    locks.client().delete(key)


def test_the_first_sync_shows_its_progress(
    marie: User, marie_mailbox: Mailbox, sync_lock: str
) -> None:
    SyncState.objects.create(mailbox=marie_mailbox, started_at=timezone.now(), total=1000, done=250)
    page = client_for(marie).get(reverse("mail-folder", args=[marie_mailbox.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<progress id="sync-progress" max="1000" value="250">' in html
    assert "lue pour la première fois" in html


def test_a_sync_is_running_only_while_its_lock_is_held(
    marie_mailbox: Mailbox, sync_lock: str
) -> None:
    """Issue 17: "running" trusted started_at for 15 minutes, so a worker killed mid-sync
    left a frozen progress bar that long (the real kill: tests/integration/test_faults.py)."""
    state = SyncState(mailbox=marie_mailbox, started_at=timezone.now() - timedelta(seconds=5))
    assert state.running
    locks.client().delete(sync_lock)  # the worker died: its lock lapsed
    assert not state.running
    state.finished_at = timezone.now()
    locks.client().set(sync_lock, "worker", ex=60)  # the next sync, before it says it began
    assert not state.running


def test_an_unreachable_operator_leaves_the_cached_list_under_a_banner(
    marie: User, marie_mailbox: Mailbox, inbox: Folder
) -> None:
    now = timezone.now()
    SyncState.objects.create(
        mailbox=marie_mailbox,
        started_at=now,
        finished_at=now - timedelta(minutes=5),
        error="IMAP connection failed (ConnectionRefusedError)",
        error_at=now,
    )
    client = client_for(marie)
    page = client.get(reverse("mail-folder", args=[marie_mailbox.pk]))
    client.get(reverse("mail-folder", args=[marie_mailbox.pk]), {"folder": "INBOX"})
    opened = AuditEvent.objects.filter(action="mailbox.open", mailbox=marie_mailbox)
    assert [e.actor for e in opened] == [marie]  # once per session, not per page
    html = page.content.decode()
    assert page.status_code == 200 and "injoignable" in html and "Cette liste est celle du" in html
    assert "Premier" in html
    switcher = re.search(r'<nav class="mailboxes".*?</nav>', html, re.S)
    assert switcher and re.search(r'<span class="count"[^>]*>1</span>', switcher.group(0))
    # The XDM prefix is hidden (UX.28) and the documents are marked.
    assert "Compte rendu DUPONT Jean" in html and "XDM/1.0/DDM+" not in html
    assert 'class="tag xdm"' in html


def test_the_poll_answers_204_until_the_mailbox_changes(
    marie: User, marie_mailbox: Mailbox, inbox: Folder
) -> None:
    client = client_for(marie)
    url = reverse("mail-changes", args=[marie_mailbox.pk])
    version = live.version(marie_mailbox.pk)
    assert client.get(url, {"folder": "INBOX", "v": version}).status_code == 204
    MessageIndex.objects.create(
        folder=inbox, uid=3, subject="Arrivé", date=timezone.now(), has_attachments=True
    )
    live.bump(marie_mailbox.pk)
    answer = client.get(url, {"folder": "INBOX", "v": version, "uid": "1"})
    html = answer.content.decode()
    assert answer.status_code == 200 and "Arrivé" in html
    assert 'value="1" aria-label="Sélectionner : Premier" checked' in html  # kept
    assert f"v={version + 1}" in html  # the next poll asks from the new version
    assert "<title>(1) Boîte de réception — Marie DURAND" in html  # unread count, folder
    assert html.count("<title") == 1  # htmx takes the first <title> it finds as the tab's
    assert '<nav class="mailboxes" id="mailboxes"' in html and "{#" not in html
    now = timezone.now()
    SyncState.objects.create(mailbox=marie_mailbox, started_at=now, finished_at=now)
    assert client.get(url, {"folder": "Nulle part", "v": 0}).status_code == 404


def test_the_search_form_refuses_what_it_cannot_answer(marie: User, inbox: Folder) -> None:
    client = client_for(marie)
    assert client.get(reverse("mail-search")).status_code == 200  # the empty form
    empty = client.post(reverse("mail-search"), {"q": "  "})
    assert empty.status_code == 400 and "Saisissez un mot" in empty.content.decode()
    backwards = client.post(
        reverse("mail-search"), {"q": "x", "since": "2026-11-20", "until": "2026-11-01"}
    )
    assert backwards.status_code == 400 and "après la date de fin" in backwards.content.decode()


def test_search_results_come_fifty_at_a_time(marie: User, inbox: Folder) -> None:
    rows = MessageIndex.objects.bulk_create(
        MessageIndex(folder=inbox, uid=100 + n, subject=f"Bilan {n}", date=timezone.now())
        for n in range(51)
    )
    search.store({row.pk: search.document(row.subject, "bilan sanguin") for row in rows})
    client = client_for(marie)
    first = client.post(reverse("mail-search"), {"q": "sanguin"})
    assert len(first.context["results"]) == 50 and first.context["has_next"]
    assert 'name="q" value="sanguin"' in first.content.decode()  # carried to the next page
    second = client.post(reverse("mail-search"), {"q": "sanguin", "page": "2"})
    assert len(second.context["results"]) == 1 and not second.context["has_next"]


def test_a_list_page_looks_up_the_persons_role_once(
    marie: User, marie_mailbox: Mailbox, inbox: Folder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One request, one access look-up: the page's links (manage, triage, write) come from
    the mailbox mailbox_or_404 returned, not from asking again."""
    from mailboxes import access

    asked: list[int] = []
    role_of = access.role_of
    monkeypatch.setattr(
        access,
        "role_of",
        lambda user, mb, read=None: asked.append(mb.pk) or role_of(user, mb, read),
    )
    page = client_for(marie).get(reverse("mail-folder", args=[marie_mailbox.pk]))
    assert page.status_code == 200 and "Premier" in page.content.decode()
    assert asked == [marie_mailbox.pk]


def test_the_pager_jumps_to_a_page_or_a_day(marie: User, marie_mailbox: Mailbox) -> None:
    """Issue 16: "Page [3] sur 3" and a date field, instead of clicking "Older" again and
    again; numbers grouped the French way."""
    folder = Folder.objects.create(
        mailbox=marie_mailbox, name="INBOX", messages=1234, unseen=0, uidvalidity=1
    )
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    MessageIndex.objects.bulk_create(
        MessageIndex(
            folder=folder,
            uid=uid,
            subject=f"Sujet {uid}",
            seen=True,
            date=start + timedelta(hours=uid),
        )
        for uid in range(1, 1235)
    )
    SyncState.objects.create(mailbox=marie_mailbox, started_at=start, finished_at=start)
    client = client_for(marie)
    url = reverse("mail-folder", args=[marie_mailbox.pk])
    first = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "1–50 sur 1\xa0234" in first and 'max="25"' in first
    assert 'name="day"' in first

    page = client.get(url, {"page": "3"}, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "101–150 sur 1\xa0234" in page
    uids = [int(u) for u in re.findall(r"message/(\d+)/", page)]
    assert uids[:1] == [1134] and 1085 in uids and 1084 not in uids

    # 2026-01-11 in Paris (UTC+1): uids 227 (00:00) to 250 (23:00); the newest first.
    day = client.get(url, {"day": "2026-01-11"}, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    uids = [int(u) for u in re.findall(r"message/(\d+)/", day)]
    assert uids[0] == 250 and 251 not in uids and 201 in uids
    assert client.get(url, {"page": "x", "day": "hier"}).status_code == 200  # no jump


def test_the_pager_s_two_ways_back_say_different_things(
    marie: User, marie_mailbox: Mailbox
) -> None:
    """The demo walk: page 3 offered "Plus récents" twice (the first page, the page before)."""
    folder = Folder.objects.create(
        mailbox=marie_mailbox, name="INBOX", messages=120, unseen=0, uidvalidity=1
    )
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    MessageIndex.objects.bulk_create(
        MessageIndex(
            folder=folder, uid=uid, subject=f"S{uid}", seen=True, date=start + timedelta(hours=uid)
        )
        for uid in range(1, 121)
    )
    page = client_for(marie).get(
        reverse("mail-folder", args=[marie_mailbox.pk]), {"page": "3"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    pager = page.content.decode().split('class="pager"')[1].split("</nav>")[0]
    assert "Les plus récents" in pager and pager.count("Plus récents") == 1


@pytest.mark.both_engines
def test_a_search_over_several_folders_merges_them_newest_first(
    marie: User, marie_mailbox: Mailbox, inbox: Folder, alice: User
) -> None:
    """cache.search_page (issue 16): each folder searched on its own then merged gives what
    one query over them all gave, page after page; the scope, not the folder list, decides
    what may be read."""
    from mailboxes import access
    from mailboxes.mailcache import cache

    sent = Folder.objects.create(mailbox=marie_mailbox, name="Sent", uidvalidity=1)
    archive = Folder.objects.create(mailbox=marie_mailbox, name="Archives", uidvalidity=1)
    foreign = Folder.objects.create(
        mailbox=Mailbox.objects.get(owner=alice), name="INBOX", uidvalidity=1
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = MessageIndex.objects.bulk_create(
        MessageIndex(
            folder=(inbox, sent, archive, foreign)[n % 4],
            uid=1000 + n,
            subject=f"Bilan {n}",
            date=start + timedelta(hours=(n * 7919) % 500),  # folders interleaved in time
        )
        for n in range(130)
    )
    search.store({row.pk: search.document(row.subject, "bilan sanguin") for row in rows})
    scope = access.searchable_messages(marie)
    criteria = cache.Criteria(words="sanguin")
    everything = list(cache.search_in(scope, criteria))
    assert len(everything) == 130 - len(rows[3::4])  # Alice's folder is not Marie's
    ids = [inbox.pk, sent.pk, archive.pk, foreign.pk]  # a folder she may not read, passed in
    pages = [cache.search_page(scope, criteria, ids, offset, 40) for offset in (0, 40, 80)]
    assert [row.pk for page in pages for row in page] == [row.pk for row in everything]
    assert [len(page) for page in pages] == [40, 40, len(everything) - 80]
    assert cache.search_page(scope, criteria, [sent.pk], 0, 500) == [
        row for row in everything if row.folder_id == sent.pk
    ]
    assert cache.search_page(scope, criteria, [], 0, 40) == []
