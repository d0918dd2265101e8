"""Presence on a conversation (who is viewing, who is writing) through the shared Redis, told
to the conversation's open pages over the mailbox's event stream (a `triage` notice with the
conversation's opaque id), and a reply stopped when someone else changed the conversation
since it was started."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mailboxes.models import AuditEvent, Delegation, Folder, Mailbox, MessageIndex, Outgoing, User
from tests.conftest import client_for
from tests.triage.conftest import bob, dora, erin, manager, shared  # noqa: F401  # fixtures
from triage import actions, collisions, presence

pytestmark = pytest.mark.django_db
THREAD = "<ordonnance@clinique.test>"


@pytest.fixture
def inbox(shared: Mailbox) -> Folder:  # noqa: F811
    folder = Folder.objects.create(mailbox=shared, name="INBOX", messages=1, uidvalidity=1)
    MessageIndex.objects.create(
        folder=folder, uid=1, message_id=THREAD, thread_key=THREAD, subject="Renouvellement",
        sender_address="dr@clinique.test", date=datetime(2026, 11, 20, 8, tzinfo=UTC),
    )  # fmt: skip
    presence.forget_all(shared.pk, THREAD)  # Redis outlives test databases
    return folder


PAGE = "0123456789abcdef"  # the page a person's asks come from (each page has its own id)


def poll(user: User, mailbox: Mailbox, **query: str) -> tuple[int, str]:
    """The live panel asked, as a page's heartbeat or its redraw asks it."""
    url = reverse("triage-live", args=[mailbox.pk])
    response = client_for(user).get(url, {"thread": THREAD, "page": PAGE, **query})
    return response.status_code, response.content.decode()


def test_it_shows_who_else_is_viewing_and_who_is_writing(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    poll(bob, shared)
    status, html = poll(dora, shared, writing="1")
    assert status == 200
    assert f'data-person="{bob.pk}"' in html
    assert "Bob Lefèvre consulte cette conversation" in html
    assert typed(dora, shared) == 204
    _, html = poll(bob, shared)
    assert "Dora Petit rédige une réponse" in html
    assert f'data-person="{bob.pk}"' not in html  # not oneself


def typed(user: User, mailbox: Mailbox, **extra: str) -> int:
    url = reverse("triage-typing", args=[mailbox.pk])
    return client_for(user).post(url, {"thread": THREAD, "page": PAGE, **extra}).status_code


def test_a_reply_page_open_without_typing_is_only_viewing(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    poll(dora, shared, writing="1")  # her reply page polls, she types nothing
    _, html = poll(bob, shared)
    assert "Dora Petit consulte cette conversation" in html
    assert "rédige" not in html


def test_writing_shows_only_while_typing_recently(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    dora: User,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poll(dora, shared, writing="1")
    typed(dora, shared)
    _, before = poll(bob, shared)
    assert "Dora Petit rédige une réponse" in before
    monkeypatch.setattr(presence, "TYPING_SECONDS", 0.05)
    time.sleep(0.1)  # she stopped typing, and her composer could not say so
    poll(dora, shared, writing="1")  # her page's heartbeat
    _, after = poll(bob, shared)
    assert "Dora Petit consulte cette conversation" in after
    assert re.findall(r"p=(\w+)", before) != re.findall(r"p=(\w+)", after)  # redrawn


def test_only_a_sender_may_say_they_are_typing(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    erin: User,  # noqa: F811
) -> None:
    assert typed(erin, shared) == 404  # a reader
    assert typed(bob, shared) == 404  # triage, not sender
    _, html = poll(bob, shared)
    assert "rédige" not in html


def test_a_reader_is_never_shown_writing(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    erin: User,  # noqa: F811
) -> None:
    poll(erin, shared, writing="1")
    _, html = poll(bob, shared)
    assert "Erin Roux consulte" in html


def test_it_answers_204_until_something_changes(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    manager: User,  # noqa: F811
) -> None:
    _, html = poll(bob, shared)
    query = re.search(r"v=(\d+)&amp;p=(\w+)", html)
    assert query is not None
    seen = {"v": query.group(1), "p": query.group(2)}
    assert poll(bob, shared, **seen)[0] == 204
    actions.do_assign(manager, shared, THREAD, bob)
    status, html = poll(bob, shared, **seen)
    assert status == 200
    assert f'data-live-assignee="{bob.pk}"' in html


def test_the_poll_needs_the_right_to_read(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    charlie: User,
) -> None:
    assert poll(charlie, shared)[0] == 404


def reply(user: User, mailbox: Mailbox, start: str, **extra: str) -> tuple[int, str]:
    url = reverse("mail-compose", args=[mailbox.pk])
    data = {
        "from_mailbox": str(mailbox.pk),
        "to": "dr@hopital-c.mssante.test",  # inside the trust space (the operator's domain)
        "subject": "Re: Renouvellement",
        "text": "C'est prêt.",
        "in_reply_to": THREAD,
        "request_dsn": "on",
        "triage_start": start,
        **extra,
    }
    response = client_for(user).post(url, data)
    return response.status_code, response.content.decode()


def test_it_stops_a_reply_when_someone_else_changed_the_conversation(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    start = collisions.start(shared, THREAD, timezone.now() - timedelta(seconds=1))
    actions.do_assign(bob, shared, THREAD, bob)  # meanwhile, Bob takes it
    status, html = reply(dora, shared, start)
    assert status == 200
    assert 'id="collision"' in html
    assert "Bob Lefèvre" in html
    assert 'name="send_anyway"' in html
    assert not Outgoing.objects.exists()
    stopped = AuditEvent.objects.get(action="reply.stopped")
    assert stopped.target == f"{THREAD} changes=2"  # assigned, then in progress
    status, _ = reply(dora, shared, start, send_anyway="1")
    assert status == 302
    assert Outgoing.objects.count() == 1


def test_it_sends_a_reply_when_only_i_changed_the_conversation(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    dora: User,  # noqa: F811
) -> None:
    start = collisions.start(shared, THREAD, timezone.now() - timedelta(seconds=1))
    actions.do_set_status(dora, shared, THREAD, "waiting")
    assert reply(dora, shared, start)[0] == 302


def test_a_second_reply_is_stopped_by_the_first(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    Delegation.objects.filter(person=bob).update(role="sender")
    bob_start = collisions.start(shared, THREAD, timezone.now() - timedelta(seconds=1))
    dora_start = collisions.start(shared, THREAD, timezone.now() - timedelta(seconds=1))
    assert reply(bob, shared, bob_start)[0] == 302
    _, html = reply(dora, shared, dora_start)
    assert 'id="collision"' in html
    assert "a envoyé une réponse" in html


# --- Driven by the event stream, not a poll -------------------------------------------------


def test_the_conversation_page_listens_to_its_stream_and_polls_no_more(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    erin: User,  # noqa: F811
) -> None:
    url = reverse("mail-conversation", args=[shared.pk])
    html = client_for(erin).get(url, {"thread": THREAD}).content.decode()
    panel = re.search(r'<div id="triage-live"[^>]*>', html)
    assert panel is not None
    tag = panel.group(0)
    assert f'data-thread-id="{presence.thread_id(shared.pk, THREAD)}"' in tag
    assert f'data-events="/mailbox/{shared.pk}/events/"' in tag
    assert f'data-heartbeat="{presence.HEARTBEAT_SECONDS}"' in tag
    assert "hx-trigger" not in tag and "hx-get" not in tag  # nothing asks it on a clock
    assert "js/stream.js" in html and "js/triage_live.js" in html
    page = re.search(r'data-page="([0-9a-f]{16})"', tag)
    assert page is not None and f"page={page.group(1)}" in tag  # its asks are this page's


def leave(user: User, mailbox: Mailbox, page: str = PAGE) -> int:
    url = reverse("triage-leave", args=[mailbox.pk])
    return client_for(user).post(url, {"thread": THREAD, "page": page}).status_code


def test_a_page_that_leaves_is_no_longer_shown_to_the_others(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    erin: User,  # noqa: F811
    charlie: User,
) -> None:
    poll(bob, shared)
    assert "Bob Lefèvre consulte" in poll(erin, shared)[1]
    assert leave(charlie, shared) == 404  # the same check as the panel's
    assert leave(bob, shared, page="not-a-page") == 400
    assert client_for(bob).get(reverse("triage-leave", args=[shared.pk])).status_code == 405
    assert leave(bob, shared) == 204
    assert "Bob Lefèvre" not in poll(erin, shared)[1]


def test_a_composer_says_when_its_person_stopped_typing(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    poll(dora, shared, writing="1")
    assert typed(dora, shared) == 204
    assert "Dora Petit rédige une réponse" in poll(bob, shared)[1]
    assert typed(dora, shared, stopped="1") == 204
    _, html = poll(bob, shared)
    assert "Dora Petit consulte cette conversation" in html
    assert typed(dora, shared, page="") == 400  # a page of its own, or nothing


def test_a_redraw_on_the_conversation_s_page_brings_its_history(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    _, html = poll(bob, shared, history="1")
    query = re.search(r"v=(\d+)&amp;p=(\w+)", html)
    assert query is not None
    actions.do_add_note(dora, shared, THREAD, "Ordonnance reçue, à préparer.")  # the version moves
    status, html = poll(bob, shared, history="1", v=query.group(1), p=query.group(2))
    assert status == 200
    assert '<div id="triage-history" hx-swap-oob="true">' in html
    assert "Ordonnance reçue, à préparer." in html
    _, composer = poll(dora, shared, writing="1", history="1")  # a reply page has no history
    assert "triage-history" not in composer


def test_a_redraw_brings_the_forms_that_follow_the_state_another_changed(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    erin: User,  # noqa: F811
    manager: User,  # noqa: F811
) -> None:
    """Someone else assigned the conversation and closed it: the open panel's assignee list,
    "Take it" and status buttons are redrawn with its state (out of band), going back where
    the page's did; a link elsewhere is not carried, and a reader gets no forms."""
    page = reverse("mail-conversation", args=[shared.pk]) + "?thread=x"
    _, html = poll(bob, shared, history="1", next=page)
    query = re.search(r"v=(\d+)&amp;p=(\w+)", html)
    assert query is not None and "&amp;next=/mailbox/" in html  # carried to the next redraw
    actions.do_assign(manager, shared, THREAD, bob)
    actions.do_set_status(manager, shared, THREAD, "done")
    seen = {"v": query.group(1), "p": query.group(2)}
    _, html = poll(bob, shared, history="1", next=page, **seen)
    forms = html[html.index('<div id="triage-state-forms" hx-swap-oob="true">') :]
    assert f'<option value="{bob.pk}" selected>' in forms
    assert 'value="take"' not in forms  # his already
    assert re.findall(r'name="status" value="(\w+)"', forms) == ["open"]  # from "done"
    assert f'name="next" value="{page}"' in forms
    _, elsewhere = poll(bob, shared, history="1", next="https://evil.test/", **seen)
    assert "evil.test" not in elsewhere and 'name="next" value=""' in elsewhere
    _, reader = poll(erin, shared, history="1", next=page, **seen)
    assert "triage-history" in reader and "triage-state-forms" not in reader
