"""Keyset pages of the cached list: every message exactly once, both ways, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailboxes.mailcache import cache
from mailboxes.models import Folder, Mailbox, MessageIndex

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def folder() -> Folder:
    mailbox = Mailbox.objects.create(address="liste@operateur-a.mssante.test", label="Liste")
    folder = Folder.objects.create(mailbox=mailbox, name="INBOX", messages=123, unseen=40)
    MessageIndex.objects.bulk_create(
        MessageIndex(
            folder=folder,
            uid=uid,
            # Ties on purpose: three messages share each date; the UID breaks them.
            date=T0 + timedelta(minutes=uid // 3),
            subject=f"Message {uid:03d}",
            sender_address=f"{'abc'[uid % 3]}@x.test",
            size=uid % 7,
            seen=uid % 3 != 0,
        )
        for uid in range(1, 124)
    )
    return folder


def walk(folder: Folder, listing: cache.Listing) -> tuple[list[int], list[list[int]]]:
    pages, uids = [], []
    page = cache.page(folder, listing, 50)
    assert page.first and not page.newer
    while True:
        pages.append([row.uid for row in page.rows])
        uids += pages[-1]
        if not page.older:
            break
        page = cache.page(folder, listing, 50, older=page.older)
        assert not page.first and page.newer
    return uids, pages


@pytest.mark.parametrize("sort", ["date", "from", "subject", "size"])
@pytest.mark.parametrize("descending", [True, False])
def test_pages_hold_every_message_once_in_order(
    folder: Folder, sort: str, descending: bool
) -> None:
    listing = cache.Listing(sort=sort, descending=descending)
    uids, pages = walk(folder, listing)
    assert sorted(uids) == list(range(1, 124)) and [len(p) for p in pages] == [50, 50, 23]
    field = cache.SORT_FIELDS[sort]
    rows = {row.uid: row for row in folder.index.all()}
    keys = [(getattr(rows[uid], field), uid) for uid in uids]
    assert keys == sorted(keys, reverse=descending)
    # And back: "newer" from the last page gives the middle one, then the first.
    last = cache.page(folder, listing, 50, older=cache._cursor(rows[pages[1][-1]], field))
    middle = cache.page(folder, listing, 50, newer=last.newer)
    assert [row.uid for row in middle.rows] == pages[1] and not middle.first
    first = cache.page(folder, listing, 50, newer=middle.newer)
    assert [row.uid for row in first.rows] == pages[0] and first.first and not first.newer


def test_unread_only_and_counts(folder: Folder) -> None:
    uids, _ = walk(folder, cache.Listing(unread_only=True))
    assert sorted(uids) == [uid for uid in range(1, 124) if uid % 3 == 0]
    page = cache.page(folder, cache.Listing(unread_only=True), 50)
    assert (page.total, page.unseen) == (40, 40)


def test_a_forged_cursor_is_the_first_page(folder: Folder) -> None:
    page = cache.page(folder, cache.Listing(), 50, older="forged:cursor")
    assert page.first and page.rows[0].uid == 123


@pytest.mark.parametrize("sort", ["date", "subject"])
def test_each_page_knows_its_position_in_the_list(folder: Folder, sort: str) -> None:
    """ "1–50 sur 123", "51–100 sur 123"... (issue 15), both ways and unread only."""
    listing = cache.Listing(sort=sort)
    page = cache.page(folder, listing, 50)
    assert (page.start, page.end, page.total) == (1, 50, 123)
    page = cache.page(folder, listing, 50, older=page.older)
    assert (page.start, page.end) == (51, 100)
    last = cache.page(folder, listing, 50, older=page.older)
    assert (last.start, last.end) == (101, 123)
    back = cache.page(folder, listing, 50, newer=last.newer)
    assert (back.start, back.end) == (51, 100)
    unread = cache.Listing(sort=sort, unread_only=True)
    second = cache.page(folder, unread, 30, older=cache.page(folder, unread, 30).older)
    assert (second.start, second.end) == (31, 41)  # 41 unread rows (the count says 40)


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("sort", ["date", "from"])
def test_a_jump_to_a_page_is_that_page_of_the_walk(
    folder: Folder, sort: str, descending: bool
) -> None:
    """Issue 16: "page 2 of 3" directly, the same rows as walking there, and on from it."""
    listing = cache.Listing(sort=sort, descending=descending)
    _, pages = walk(folder, listing)
    second = cache.page(folder, listing, 50, number=2)
    assert [row.uid for row in second.rows] == pages[1]
    assert (second.start, second.end, second.number, second.pages) == (51, 100, 2, 3)
    assert not second.first and second.newer and second.older
    third = cache.page(folder, listing, 50, older=second.older)
    assert [row.uid for row in third.rows] == pages[2] and not third.older
    back = cache.page(folder, listing, 50, newer=second.newer)
    assert [row.uid for row in back.rows] == pages[0] and back.first
    beyond = cache.page(folder, listing, 50, number=999)  # past the end: the last page
    assert [row.uid for row in beyond.rows] == pages[2] and beyond.number == 3


@pytest.mark.parametrize("descending", [True, False])
def test_a_jump_to_a_day_starts_at_that_day(folder: Folder, descending: bool) -> None:
    """The first page from a day on, in the list's order: every message of that day on it."""
    listing = cache.Listing(descending=descending)
    day = (T0 + timedelta(minutes=20)).date()  # every message is on T0's day...
    page = cache.page(folder, listing, 50, day=day)
    assert [row.uid for row in page.rows] == [
        row.uid for row in cache.page(folder, listing, 50).rows
    ]
    before = cache.page(folder, listing, 50, day=day - timedelta(days=1))
    after = cache.page(folder, listing, 50, day=day + timedelta(days=1))
    # ...so the day before has none of them in a descending list (all are later) and the
    # day after all of them; the other way round ascending. A day with none beyond it lands
    # on the list's last page (the demo walk found an empty folder there), never nothing.
    beyond, full = (before, after) if descending else (after, before)
    _, pages = walk(folder, listing)
    assert [row.uid for row in beyond.rows] == pages[-1] and len(full.rows) == 50
