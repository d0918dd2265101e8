"""The triage pages: the block on a conversation, rights per role, the lists ("Assigné à
moi" across mailboxes, "Non assigné"), filters, sidebar counts, bulk changes, and each
person's own read state on a shared mailbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.urls import reverse

from mailboxes.actions import delegations
from mailboxes.models import AuditEvent, Delegation, Folder, Mailbox, MessageIndex, User
from tests.conftest import client_for
from tests.triage.conftest import bob, dora, erin, manager, shared  # noqa: F401  # fixtures
from triage import actions, hooks
from triage.models import Conversation, Event

pytestmark = pytest.mark.django_db
THREAD = "<ordonnance@clinique.test>"
OTHER = "<autre@clinique.test>"


@pytest.fixture
def inbox(shared: Mailbox) -> Folder:  # noqa: F811
    folder = Folder.objects.create(mailbox=shared, name="INBOX", messages=2, uidvalidity=1)
    for uid, thread in ((1, THREAD), (2, OTHER)):
        MessageIndex.objects.create(
            folder=folder,
            uid=uid,
            message_id=thread,
            thread_key=thread,
            subject=f"Renouvellement {uid}",
            sender_address="dr@clinique.test",
            date=datetime(2026, 11, 20, 8, uid, tzinfo=UTC),
        )
    hooks.on_messages_indexed(shared, folder, list(folder.index.all()))
    return folder


def conversation_page(user: User, mailbox: Mailbox, thread: str = THREAD) -> str:
    url = reverse("mail-conversation", args=[mailbox.pk])
    page = client_for(user).get(url, {"thread": thread})
    assert page.status_code == 200
    return page.content.decode()


def post_change(user: User, mailbox: Mailbox, **data: object) -> int:
    url = reverse("triage-change", args=[mailbox.pk])
    return client_for(user).post(url, {"thread": THREAD, **data}).status_code


def test_it_shows_the_triage_block_with_its_forms_to_a_triager(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
) -> None:
    html = conversation_page(bob, shared)
    assert 'id="triage"' in html
    assert 'data-status="new"' in html
    assert 'name="change" value="assign"' in html
    assert "@bob.lefevre" in html  # how to mention people


def test_it_shows_a_reader_the_state_and_history_but_no_form(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    erin: User,  # noqa: F811
) -> None:
    actions.do_add_note(bob, shared, THREAD, "Rappeler la clinique")
    html = conversation_page(erin, shared)
    assert "Rappeler la clinique" in html
    assert 'name="change"' not in html


@pytest.mark.parametrize(
    ("persona", "status"), [("manager", 302), ("bob", 302), ("dora", 302), ("erin", 404)]
)
def test_it_lets_only_triage_roles_and_above_change_a_conversation(
    request: pytest.FixtureRequest,
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    persona: str,
    status: int,
) -> None:
    user: User = request.getfixturevalue(persona)
    assert post_change(user, shared, change="take") == status
    expected = user if status == 302 else None
    assert Conversation.objects.get(thread_key=THREAD).assignee == expected


def test_it_hides_the_mailbox_from_a_stranger(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    charlie: User,
) -> None:
    assert post_change(charlie, shared, change="take") == 404
    page = client_for(charlie).get(reverse("triage-list", args=[shared.pk]))
    assert page.status_code == 404


def test_it_refuses_an_assignee_who_only_reads(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    erin: User,  # noqa: F811
) -> None:
    assert post_change(bob, shared, change="assign", assignee=erin.pk) == 400
    assert post_change(bob, shared, change="status", status="archived") == 400
    assert post_change(bob, shared, change="nothing") == 400


def test_it_refuses_a_conversation_the_mailbox_does_not_have(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
) -> None:
    url = reverse("triage-change", args=[shared.pk])
    response = client_for(bob).post(url, {"thread": "<elsewhere@x.test>", "change": "take"})
    assert response.status_code == 404


def test_it_assigns_sets_the_status_and_shows_the_history(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    manager: User,  # noqa: F811
    bob: User,  # noqa: F811
) -> None:
    assert post_change(manager, shared, change="assign", assignee=bob.pk) == 302
    assert post_change(bob, shared, change="status", status="waiting") == 302
    assert post_change(bob, shared, change="note", text="Voir @alice.martin") == 302
    html = conversation_page(manager, shared)
    assert 'data-status="waiting"' in html
    assert html.count('class="event-') == 4  # assigned, in progress, waiting, note
    assert "Voir @alice.martin" in html


def test_it_lists_what_is_assigned_to_me_across_mailboxes(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    manager: User,  # noqa: F811
    bob: User,  # noqa: F811
) -> None:
    actions.do_assign(manager, shared, THREAD, bob)
    html = client_for(bob).get(reverse("triage-mine")).content.decode()
    assert "Renouvellement 1" in html
    assert "Renouvellement 2" not in html
    delegations.do_revoke_delegation(manager, Delegation.objects.get(person=bob))
    html = client_for(bob).get(reverse("triage-mine")).content.decode()
    assert "Renouvellement 1" not in html


def test_it_lists_the_unassigned_and_counts_them_in_the_sidebar(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    manager: User,  # noqa: F811
    bob: User,  # noqa: F811
) -> None:
    actions.do_assign(manager, shared, THREAD, bob)
    url = reverse("triage-list", args=[shared.pk])
    html = client_for(bob).get(url, {"view": "unassigned"}).content.decode()
    assert "Renouvellement 2" in html
    assert "Renouvellement 1" not in html
    sidebar = html.split('class="triage-views"')[1].split("</nav>")[0]
    assert sidebar.count('<span class="count">1</span>') == 2  # mine: 1, unassigned: 1


def test_it_filters_by_status_and_label(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
) -> None:
    actions.do_set_status(bob, shared, THREAD, "done")
    actions.do_set_label(bob, shared, OTHER, "urgent", True)
    url = reverse("triage-list", args=[shared.pk])
    client = client_for(bob)
    assert "Renouvellement 1" not in client.get(url).content.decode()  # done: hidden
    done = client.get(url, {"status": "done"}).content.decode()
    assert "Renouvellement 1" in done
    assert "Renouvellement 2" not in done
    labelled = client.get(url, {"status": "any", "label": "urgent"}).content.decode()
    assert "Renouvellement 2" in labelled
    assert "Renouvellement 1" not in labelled


def test_it_changes_several_conversations_at_once(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
) -> None:
    url = reverse("triage-bulk", args=[shared.pk])
    client = client_for(bob)
    response = client.post(url, {"thread": [THREAD, OTHER], "triage_assign": "me"})
    assert response.status_code == 302
    assert Conversation.objects.filter(assignee=bob).count() == 2
    # From the mail list's own form: UIDs of a folder.
    response = client.post(url, {"folder": "INBOX", "uid": ["2"], "triage_status": "done"})
    assert response.status_code == 302
    assert Conversation.objects.get(thread_key=OTHER).status == "done"
    assert Conversation.objects.get(thread_key=THREAD).status == "open"


def test_it_offers_triage_in_the_mail_list_of_a_shared_mailbox(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
) -> None:
    html = client_for(bob).get(reverse("mail-folder", args=[shared.pk])).content.decode()
    assert reverse("triage-bulk", args=[shared.pk]) in html
    assert 'class="triage-views"' in html


def test_it_keeps_each_persons_own_read_state(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    bob: User,  # noqa: F811
    dora: User,  # noqa: F811
) -> None:
    conversation_page(bob, shared)  # bob reads the first conversation

    def unread_rows(user: User) -> int:
        html = client_for(user).get(reverse("triage-list", args=[shared.pk])).content.decode()
        return html.count('<tr class="unread">')

    assert unread_rows(bob) == 1
    assert unread_rows(dora) == 2
    assert not Event.objects.exists()  # reading is no change of the conversation


def test_it_shows_the_triage_state_in_the_mail_list(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    manager: User,  # noqa: F811
    bob: User,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = reverse("mail-folder", args=[shared.pk])
    assert 'data-assignee="' not in client_for(bob).get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # committed: the version moves
        actions.do_assign(manager, shared, THREAD, bob)
    html = client_for(bob).get(url).content.decode()
    assert f'data-assignee="{bob.pk}"' in html
    assert html.count('class="tag status-open"') == 1


def test_it_audits_the_opening_of_a_mailbox_through_its_triage_lists(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    manager: User,  # noqa: F811
    bob: User,  # noqa: F811
) -> None:
    actions.do_assign(manager, shared, THREAD, bob)
    client = client_for(bob)
    for _ in range(2):
        client.get(reverse("triage-mine"))
        client.get(reverse("triage-list", args=[shared.pk]))
    opened = AuditEvent.objects.filter(action="mailbox.open", actor=bob, mailbox=shared)
    assert opened.count() == 1  # once per session, the lists show senders and subjects


def test_assigned_to_me_is_drawn_anew_after_a_change_or_a_read(
    shared: Mailbox,  # noqa: F811
    inbox: Folder,
    manager: User,  # noqa: F811
    bob: User,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The page's rows are cached rendered: every change they show must draw them anew."""

    def mine() -> str:
        html = client_for(bob).get(reverse("triage-mine")).content.decode()
        return html[html.index("<tbody>") : html.index("</tbody>")]

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_assign(manager, shared, THREAD, bob)
    first = mine()
    assert "Renouvellement 1" in first and "Renouvellement 2" not in first
    assert mine() == first  # nothing changed: the same rows
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_assign(manager, shared, OTHER, bob)
    assert "Renouvellement 2" in mine()
    assert mine().count('<tr class="unread">') == 2
    with django_capture_on_commit_callbacks(execute=True):
        conversation_page(bob, shared)  # bob reads the first conversation
    assert mine().count('<tr class="unread">') == 1
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_set_status(manager, shared, OTHER, "done")
    assert "Renouvellement 2" not in mine()
