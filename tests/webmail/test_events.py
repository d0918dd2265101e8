"""The open list's event stream (webmail/push.py), served as under `manage.py runserver`
(threaded WSGI: a generator with its own Redis subscription). The ASGI server's side is in
tests/integration/test_push.py. Real Redis and database; the notices are the real ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from mailboxes.actions.delegations import do_grant_delegation, do_revoke_delegation
from mailboxes.mailcache import live
from mailboxes.models import Mailbox, User
from tests.conftest import client_for
from webmail import push
from webmail.auth import session

pytestmark = pytest.mark.django_db
THREADED = {"wsgi.multithread": True}  # runserver's; the test client says False


@pytest.fixture
def mailbox(alice: User) -> Mailbox:
    return Mailbox.objects.get(owner=alice)


def opened(client: Client, mailbox: Mailbox, **headers: str) -> Iterator[bytes]:
    url = reverse("mail-events", args=[mailbox.pk])
    answer = client.get(url, headers=headers, **THREADED)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.status_code
    assert answer["Content-Type"] == "text/event-stream"
    assert answer["Cache-Control"] == "no-store" and answer["X-Accel-Buffering"] == "no"
    return iter(answer.streaming_content)  # type: ignore[attr-defined]


def test_it_is_refused_to_whoever_may_not_read_the_mailbox(charlie: User, mailbox: Mailbox) -> None:
    url = reverse("mail-events", args=[mailbox.pk])
    assert client_for(charlie).get(url, **THREADED).status_code == 404  # type: ignore[arg-type]
    gone = reverse("mail-events", args=[mailbox.pk + 1000])
    assert client_for(charlie).get(gone, **THREADED).status_code == 404  # type: ignore[arg-type]
    anonymous = Client().get(url, **THREADED)  # type: ignore[arg-type]
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_a_page_up_to_date_hears_nothing_until_the_mailbox_changes(
    alice: User, mailbox: Mailbox
) -> None:
    version = live.version(mailbox.pk)
    stream = opened(client_for(alice), mailbox, **{"Last-Event-ID": str(version)})
    first = next(stream).decode()
    assert first.startswith("retry: ") and first.endswith("\n\n") and "event:" not in first
    assert 2000 <= int(first.split()[1]) <= 3000  # WEBMAIL_EVENTS_RETRY_MS, with jitter
    live.bump(mailbox.pk)
    assert next(stream) == f"id: {version + 1}\nevent: changed\ndata: {version + 1}\n\n".encode()
    live.progress(mailbox.pk)  # a sync's chunk: same version, the page redraws its progress
    assert next(stream) == f"id: {version + 1}\nevent: progress\ndata: {version + 1}\n\n".encode()


def test_a_conversation_s_change_is_told_by_its_opaque_id_outside_the_catch_up(
    alice: User, mailbox: Mailbox
) -> None:
    """Triage (triage.presence.announce): the conversation's pages redraw their live panel;
    no event id, so a reconnection still catches up from the mailbox's version."""
    version = live.version(mailbox.pk)
    stream = opened(client_for(alice), mailbox, **{"Last-Event-ID": str(version)})
    next(stream)
    live.conversation_changed(mailbox.pk, "0f" * 12)
    assert next(stream) == b"event: triage\ndata: " + b"0f" * 12 + b"\n\n"
    live.client().publish(live.channel(mailbox.pk), "t:<a@b>")  # never a Message-ID
    live.bump(mailbox.pk)
    assert next(stream) == f"id: {version + 1}\nevent: changed\ndata: {version + 1}\n\n".encode()
    with pytest.raises(ValueError, match="opaque"):
        live.conversation_changed(mailbox.pk, "<ordonnance@clinique.test>")


@pytest.mark.parametrize("how", ["Last-Event-ID", "v"])
def test_a_reconnection_catches_up_on_what_it_missed(
    alice: User, mailbox: Mailbox, how: str
) -> None:
    """The browser sends the last id it received (Last-Event-ID) when it reconnects; a page
    opening its stream sends the version it was drawn at."""
    missed = live.version(mailbox.pk)
    live.bump(mailbox.pk)
    live.bump(mailbox.pk)  # while the tab was away
    client = client_for(alice)
    if how == "v":
        url = reverse("mail-events", args=[mailbox.pk])
        answer = client.get(url, {"v": missed}, **THREADED)  # type: ignore[arg-type]
        stream = iter(answer.streaming_content)  # type: ignore[attr-defined]
    else:
        stream = opened(client, mailbox, **{"Last-Event-ID": str(missed)})
    first = next(stream).decode()
    assert first.endswith(f"\n\nid: {missed + 2}\nevent: changed\ndata: {missed + 2}\n\n")


def test_a_heartbeat_keeps_it_open_and_the_mailbox_watched(
    alice: User, mailbox: Mailbox, settings: Settings
) -> None:
    settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS = 0.3
    live.client().zrem(live.ACTIVE_KEY, str(mailbox.pk))
    stream = opened(client_for(alice), mailbox, **{"Last-Event-ID": str(live.version(mailbox.pk))})
    next(stream)
    assert next(stream) == b": heartbeat\n\n"  # a comment: EventSource shows nothing
    assert mailbox.pk in live.active()  # the IDLE watcher keeps watching it
    assert next(stream) == b": heartbeat\n\n"


def test_it_ends_when_the_delegation_is_revoked_and_is_refused_after(
    alice: User,
    charlie: User,
    mailbox: Mailbox,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS = 0.5
    settings.WEBMAIL_EVENTS_MAX_SECONDS = 3  # not revoked: heartbeats until then
    monkeypatch.setattr(push, "MIN_SECONDS", 0.5)
    delegation = do_grant_delegation(alice, mailbox, charlie, "reader")
    client = client_for(charlie)
    stream = opened(client, mailbox, **{"Last-Event-ID": str(live.version(mailbox.pk))})
    next(stream)
    with django_capture_on_commit_callbacks(execute=True):
        do_revoke_delegation(alice, delegation)  # delegation_changed -> the channel
    assert list(stream) == []  # the stream ended at once
    url = reverse("mail-events", args=[mailbox.pk])
    assert client.get(url, **THREADED).status_code == 404  # type: ignore[arg-type]


def test_it_ends_when_the_delegation_expires(
    alice: User,
    charlie: User,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
) -> None:
    monkeypatch.setattr(push, "MIN_SECONDS", 0.5)
    settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS = 1.5
    settings.WEBMAIL_EVENTS_MAX_SECONDS = 4  # not ended at the expiry: heartbeats until then
    expires = timezone.now() + timedelta(seconds=1)
    do_grant_delegation(alice, mailbox, charlie, "reader", expires_at=expires)
    client = client_for(charlie)
    stream = opened(client, mailbox, **{"Last-Event-ID": str(live.version(mailbox.pk))})
    next(stream)
    assert list(stream) == []  # ended at the expiry, not 15 minutes later
    assert timezone.now() >= expires
    url = reverse("mail-events", args=[mailbox.pk])
    assert client.get(url, **THREADED).status_code == 404  # type: ignore[arg-type]


def test_a_change_of_someone_else_s_access_leaves_it_open(
    alice: User, charlie: User, mailbox: Mailbox
) -> None:
    stream = opened(client_for(alice), mailbox, **{"Last-Event-ID": str(live.version(mailbox.pk))})
    next(stream)
    live.access_changed(mailbox.pk, charlie.pk)
    version = live.bump(mailbox.pk)
    assert next(stream).startswith(f"id: {version}\n".encode())


def test_it_ends_when_the_session_must_be_checked_again(
    alice: User, mailbox: Mailbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idle limit falls due: the stream ends there, and the browser's reconnection goes
    through the session checks (which end an idle session, as the poll did)."""
    monkeypatch.setattr(push, "MIN_SECONDS", 0.5)
    client = client_for(alice)
    store = client.session
    store[session.SEEN] -= settings.WEBMAIL_IDLE_TIMEOUT - 1  # idle in a second
    store.save()
    stream = opened(client, mailbox, **{"Last-Event-ID": str(live.version(mailbox.pk))})
    next(stream)
    assert list(stream) == []
    url = reverse("mail-events", args=[mailbox.pk])
    assert client.get(url, **THREADED)["Location"] == "/login/?ended=idle"  # type: ignore[arg-type]


def test_it_ends_at_once_when_its_session_logs_out_elsewhere(
    alice: User, mailbox: Mailbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logged out in another tab: this tab's stream ends, and its reconnection is sent to the
    login page (the page then follows: live.js asks `changes`, which says where to go)."""
    settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS = 1.5
    settings.WEBMAIL_EVENTS_MAX_SECONDS = 4  # not told: heartbeats until then
    monkeypatch.setattr(push, "MIN_SECONDS", 0.5)
    client = client_for(alice)
    stream = opened(client, mailbox, **{"Last-Event-ID": str(live.version(mailbox.pk))})
    next(stream)
    other = client_for(alice)  # another session of the same person: its logout is its own
    other.post(reverse("auth-logout"))
    live.bump(mailbox.pk)
    assert next(stream).startswith(b"id: ")  # still open
    client.post(reverse("auth-logout"))
    assert list(stream) == []
    url = reverse("mail-events", args=[mailbox.pk])
    again = client.get(url, headers={"Accept": "text/event-stream"}, **THREADED)  # type: ignore[arg-type]
    assert again.content.decode().endswith("event: ended\ndata: /login/\n\n")


def test_a_session_gone_idle_meanwhile_ends_it_at_the_next_heartbeat(
    alice: User, mailbox: Mailbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream reads its session again at every heartbeat: a session that reached its
    idle limit (or disappeared) ends it there, not at its 15-minute end."""
    settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS = 0.5
    settings.WEBMAIL_EVENTS_MAX_SECONDS = 4
    monkeypatch.setattr(push, "MIN_SECONDS", 0.2)
    client = client_for(alice)
    stream = opened(client, mailbox, **{"Last-Event-ID": str(live.version(mailbox.pk))})
    next(stream)
    assert next(stream) == b": heartbeat\n\n"
    store = client.session
    store[session.SEEN] -= settings.WEBMAIL_IDLE_TIMEOUT + 1
    store.save()
    assert list(stream) == []
    # The browser's reconnection: told where to go (an EventSource would follow a redirect
    # and fail on the login page, which would then not say why).
    url = reverse("mail-events", args=[mailbox.pk])
    again = client.get(url, headers={"Accept": "text/event-stream"}, **THREADED)  # type: ignore[arg-type]
    assert again.status_code == 200 and again["Content-Type"] == "text/event-stream"
    assert again.content.decode().endswith("event: ended\ndata: /login/?ended=idle\n\n")


def test_it_does_not_hold_the_session_awake(alice: User, mailbox: Mailbox) -> None:
    """Opening (and reopening) the stream is not the person's activity (session.background)."""
    client = client_for(alice)
    store = client.session
    store[session.SEEN] -= 600
    store.save()
    seen = client.session[session.SEEN]
    next(opened(client, mailbox))
    assert client.session[session.SEEN] == seen


def test_a_single_threaded_worker_refuses_it_and_the_page_polls(
    alice: User, mailbox: Mailbox
) -> None:
    """Under gunicorn's sync workers a stream would hold a whole worker: 503, and the page
    falls back to its slow poll (the events server of deploy/ is meant to serve this path)."""
    url = reverse("mail-events", args=[mailbox.pk])
    assert client_for(alice).get(url).status_code == 503


def test_the_list_points_at_its_stream_and_no_longer_polls_every_2_s(
    alice: User, mailbox: Mailbox, settings: Settings
) -> None:
    from mailboxes.models import Folder

    settings.WEBMAIL_LIVE_FALLBACK_SECONDS = 42
    Folder.objects.create(mailbox=mailbox, name="INBOX", uidvalidity=1)
    html = client_for(alice).get(reverse("mail-folder", args=[mailbox.pk])).content.decode()
    version = live.version(mailbox.pk)
    assert f'data-events="/mailbox/{mailbox.pk}/events/?v={version}"' in html
    assert f'data-changes="/mailbox/{mailbox.pk}/changes/?' in html
    assert 'data-fallback="42"' in html
    assert "every 2s" not in html
