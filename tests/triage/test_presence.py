"""What the conversation's open pages are told, on the mailbox's channel (real Redis pub/sub,
the one webmail/push.py relays): a `t:<opaque id>` notice when someone arrives, leaves,
starts or stops writing, or the conversation's triage state changes, once committed; and
nothing at a heartbeat that changes nothing for the others."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from mailboxes.mailcache import live
from mailboxes.models import Mailbox, User
from triage import actions, presence
from triage.models import Conversation

pytestmark = pytest.mark.django_db
THREAD = "<ordonnance-42@clinique.test>"
A, B, C = "a" * 16, "b" * 16, "c" * 16  # three pages


class Channel:
    """The mailbox's channel, as the events server hears it."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.pubsub = live.client().pubsub()  # type: ignore[no-untyped-call]  # untyped upstream
        self.pubsub.subscribe(live.channel(mailbox.pk))
        assert self.pubsub.get_message(timeout=5)["type"] == "subscribe"

    def heard(self) -> list[str]:
        """What was published since the last call."""
        notices = []
        while message := self.pubsub.get_message(timeout=0.2):
            notices.append(message["data"].decode())
        return notices

    def close(self) -> None:
        self.pubsub.close()


@pytest.fixture
def channel(shared: Mailbox) -> Iterator[Channel]:
    presence.forget_all(shared.pk, THREAD)  # Redis outlives test databases
    listening = Channel(shared)
    yield listening
    listening.close()
    presence.forget_all(shared.pk, THREAD)


def told(mailbox: Mailbox) -> str:
    return f"t:{presence.thread_id(mailbox.pk, THREAD)}"


def test_the_id_told_is_opaque_and_the_notice_says_nothing_else(
    shared: Mailbox, bob: User, channel: Channel
) -> None:
    thread = presence.thread_id(shared.pk, THREAD)
    assert len(thread) == 24 and int(thread, 16) >= 0
    assert thread != presence.thread_id(shared.pk + 1, THREAD)  # one mailbox's, not another's
    presence.touch(shared.pk, THREAD, bob, A)
    [notice] = channel.heard()
    assert notice == f"t:{thread}"
    assert "ordonnance" not in notice and "Bob" not in notice and str(bob.pk) not in notice


def test_it_tells_when_someone_arrives_not_at_each_heartbeat(
    shared: Mailbox, bob: User, dora: User, channel: Channel
) -> None:
    assert presence.touch(shared.pk, THREAD, bob, A) == []
    assert channel.heard() == [told(shared)]
    presence.touch(shared.pk, THREAD, bob, A)  # the page's heartbeat
    presence.touch(shared.pk, THREAD, bob, B)  # his reply page: he was there already
    assert channel.heard() == []
    others = presence.touch(shared.pk, THREAD, dora, C)
    assert [(p.person_id, p.writing) for p in others] == [(bob.pk, False)]
    assert channel.heard() == [told(shared)]


def test_it_tells_when_someone_starts_and_stops_writing_once_each(
    shared: Mailbox, bob: User, dora: User, channel: Channel
) -> None:
    presence.touch(shared.pk, THREAD, dora, C)
    channel.heard()
    presence.typing(shared.pk, THREAD, dora, C)
    assert channel.heard() == [told(shared)]
    presence.typing(shared.pk, THREAD, dora, C)  # still typing (the next throttled post)
    presence.touch(shared.pk, THREAD, dora, C)  # her composer's heartbeat
    assert channel.heard() == []
    assert presence.others(shared.pk, THREAD, bob)[0].writing
    presence.stopped_typing(shared.pk, THREAD, dora, C)
    assert channel.heard() == [told(shared)]
    assert not presence.others(shared.pk, THREAD, bob)[0].writing
    presence.stopped_typing(shared.pk, THREAD, dora, C)
    assert channel.heard() == []


def test_a_page_that_leaves_is_gone_at_once_but_not_its_person_s_other_page(
    shared: Mailbox, bob: User, dora: User, channel: Channel
) -> None:
    presence.touch(shared.pk, THREAD, bob, A)  # the conversation
    presence.touch(shared.pk, THREAD, bob, B)  # the reply he opened from it
    channel.heard()
    presence.leave(shared.pk, THREAD, bob, A)  # the conversation's page went (its beacon)
    assert channel.heard() == [told(shared)]
    assert [p.person_id for p in presence.others(shared.pk, THREAD, dora)] == [bob.pk]
    presence.leave(shared.pk, THREAD, bob, B)
    assert channel.heard() == [told(shared)]
    assert presence.others(shared.pk, THREAD, dora) == []
    presence.leave(shared.pk, THREAD, bob, B)  # said twice (pagehide after hidden)
    assert channel.heard() == []


def test_a_late_ask_of_a_page_that_left_does_not_bring_it_back(
    shared: Mailbox, bob: User, dora: User, channel: Channel
) -> None:
    """Bob takes the conversation and his page reloads: the old page, told of his own change,
    asked its panel as it went; that ask reached the server after its beacon."""
    presence.touch(shared.pk, THREAD, bob, A)
    presence.touch(shared.pk, THREAD, bob, B)  # the page drawn anew
    presence.leave(shared.pk, THREAD, bob, A)  # the old one's beacon...
    channel.heard()
    presence.touch(shared.pk, THREAD, bob, A)  # ... and its ask, late
    presence.typing(shared.pk, THREAD, bob, A)
    assert channel.heard() == []
    presence.leave(shared.pk, THREAD, bob, B)  # he closes the new one
    assert channel.heard() == [told(shared)]
    assert presence.others(shared.pk, THREAD, dora) == []


def test_a_page_gone_without_a_word_is_forgotten_and_told_by_the_next_ask(
    shared: Mailbox, bob: User, dora: User, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence, "PRESENCE_SECONDS", 0.3)
    monkeypatch.setattr(presence, "TYPING_SECONDS", 0.3)
    presence.typing(shared.pk, THREAD, bob, A)  # then his browser crashed
    presence.touch(shared.pk, THREAD, dora, C)
    assert [p.writing for p in presence.others(shared.pk, THREAD, dora)] == [True]
    channel.heard()
    time.sleep(0.4)
    assert presence.touch(shared.pk, THREAD, dora, C) == []  # her heartbeat
    assert channel.heard() == [told(shared)]  # the others' pages redraw without him
    raw = live.client().hgetall(presence._key(shared.pk, THREAD))
    assert [field.decode() for field in raw] == [f"{dora.pk}:r:{C}"]
    presence.touch(shared.pk, THREAD, dora, C)
    assert channel.heard() == []


def test_every_change_of_the_conversation_is_told_once_committed(
    shared: Mailbox,
    bob: User,
    channel: Channel,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    changes = [
        lambda: actions.do_assign(bob, shared, THREAD, bob),
        lambda: actions.do_set_status(bob, shared, THREAD, "waiting"),
        lambda: actions.do_set_label(bob, shared, THREAD, "urgent", True),  # no cached message
        lambda: actions.do_add_note(bob, shared, THREAD, "Appeler le patient."),
        lambda: actions.do_set_label(bob, shared, THREAD, "urgent", False),
    ]
    for n, change in enumerate(changes, start=1):
        with django_capture_on_commit_callbacks() as callbacks:
            change()
        assert channel.heard() == []  # nothing before the commit
        for callback in callbacks:
            callback()
        version = live.version(shared.pk)
        assert channel.heard() == [f"v:{version}", told(shared)]  # the lists, the pages
        assert Conversation.objects.get(mailbox=shared, thread_key=THREAD).version == n


def test_a_change_that_changes_nothing_tells_nobody(
    shared: Mailbox,
    bob: User,
    channel: Channel,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_assign(bob, shared, THREAD, bob)
    channel.heard()
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_assign(bob, shared, THREAD, bob)  # already his
        actions.do_set_status(bob, shared, THREAD, "open")  # already in progress
    assert channel.heard() == []
