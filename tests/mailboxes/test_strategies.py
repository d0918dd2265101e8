"""Each way of reaching the operator says what it can do; callers ask it (ARCHITECTURE.md)."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from mailboxes.mailcache.watcher import Watcher
from mailboxes.models import Mailbox
from mailboxes.operator import strategies

pytestmark = pytest.mark.django_db


@pytest.fixture
def by_access(db: None) -> dict[str, Mailbox]:
    return {
        access: Mailbox.objects.create(address=f"{access or 'default'}@a.test", access=access)
        for access in ("", "master", "xoauth2", "credential")
    }


def test_it_says_which_strategies_a_worker_can_use() -> None:
    assert strategies.STRATEGIES["master"].background
    assert strategies.STRATEGIES["credential"].background
    assert not strategies.STRATEGIES["xoauth2"].background
    assert not strategies.STRATEGIES["xoauth2"].poolable


@pytest.mark.parametrize(("default", "expected"), [
    ("master", {"default", "master", "credential"}),
    ("xoauth2", {"master", "credential"}),
])  # fmt: skip
def test_it_leaves_out_of_background_work_every_mailbox_that_needs_the_person(
    by_access: dict[str, Mailbox], settings: Settings, default: str, expected: set[str]
) -> None:
    """A mailbox with no access of its own follows the site's default: with XOAUTH2 as the
    default it needs the person too (it was synced and watched by workers before)."""
    settings.OPERATOR_ACCESS_STRATEGY = default
    reachable = strategies.reachable_in_background(Mailbox.objects.all())
    assert {m.address.split("@")[0] for m in reachable} == expected


def test_the_watcher_holds_idle_only_where_it_can_log_in(
    by_access: dict[str, Mailbox], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.OPERATOR_ACCESS_STRATEGY = "xoauth2"
    monkeypatch.setattr(
        "mailboxes.mailcache.live.active", lambda: [m.pk for m in by_access.values()]
    )
    wanted = Watcher(on_change=lambda pk: None).wanted()
    assert {m.access for m in wanted} == {"master", "credential"}


def test_sharded_watchers_share_the_mailboxes_in_use_without_overlap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 17: one watcher process was a single point of failure (and ~1,000 connections)."""
    boxes = [Mailbox.objects.create(address=f"m{n}@a.test", access="master") for n in range(7)]
    monkeypatch.setattr("mailboxes.mailcache.live.active", lambda: [m.pk for m in boxes])
    shares = [
        {m.pk for m in Watcher(on_change=lambda pk: None, shard=i, shards=3).wanted()}
        for i in range(3)
    ]
    assert set.union(*shares) == {m.pk for m in boxes}
    assert sum(len(share) for share in shares) == len(boxes)  # each mailbox watched once
    with pytest.raises(ValueError, match="shard 3 of 3"):
        Watcher(on_change=lambda pk: None, shard=3, shards=3)
