"""A UID is 1..4294967295 (RFC 3501 nz-number): anything else is refused before the operator
is asked anything (issue 10, low item)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from pytest_django import Settings

from mailboxes.models import AuditEvent, Mailbox, User
from mailboxes.operator import imap
from tests.conftest import client_for

pytestmark = pytest.mark.integration
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"
TOO_BIG = 2**32
PAGES = ("", "body/", "part/1/", "raw/")


@pytest.fixture
def operator_gone(settings: Settings) -> None:
    """Any call to the operator now fails (503): a 404 or 400 proves none was made."""
    settings.OPERATOR_IMAP_PORT = 1


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("uid", [0, TOO_BIG, 10**30])
def test_it_refuses_a_uid_out_of_range_in_a_url(
    jeanne: User, jeanne_mailbox: Mailbox, operator_gone: None, page: str, uid: int
) -> None:
    answer = client_for(jeanne).get(f"/mailbox/{jeanne_mailbox.pk}/message/{uid}/{page}")
    assert answer.status_code == 404
    assert not AuditEvent.objects.filter(action="message.read").exists()


@pytest.mark.parametrize("page", PAGES)
def test_the_largest_uid_still_reaches_the_operator(
    jeanne: User, jeanne_mailbox: Mailbox, operator_gone: None, page: str
) -> None:
    answer = client_for(jeanne).get(f"/mailbox/{jeanne_mailbox.pk}/message/{2**32 - 1}/{page}")
    assert answer.status_code == 503


def test_it_refuses_a_read_receipt_for_a_uid_out_of_range(
    jeanne: User, jeanne_mailbox: Mailbox, operator_gone: None
) -> None:
    answer = client_for(jeanne).post(f"/mailbox/{jeanne_mailbox.pk}/message/{TOO_BIG}/mdn/")
    assert answer.status_code == 404


@pytest.mark.parametrize("action", ["read", "flag", "archive", "delete", "move"])
def test_it_refuses_an_action_on_a_uid_out_of_range(
    jeanne: User, jeanne_mailbox: Mailbox, operator_gone: None, action: str
) -> None:
    answer = client_for(jeanne).post(
        reverse("mail-actions", args=[jeanne_mailbox.pk]),
        {"folder": "INBOX", "uid": ["1", str(TOO_BIG)], "action": action, "target": "Archive"},
    )
    assert answer.status_code == 400
    assert not AuditEvent.objects.filter(action=f"message.{action}").exists()


def test_a_draft_with_a_uid_out_of_range_is_saved_as_a_new_one(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    before = imap.list_folder(jeanne_mailbox, "Drafts", 1, 500).total
    saved = client_for(jeanne).post(
        reverse("mail-draft", args=[jeanne_mailbox.pk]),
        {"to": "x@y.test", "subject": "Borne", "text": "t", "draft_uid": str(TOO_BIG)},
    )
    assert "Brouillon enregistré" in saved.content.decode()
    assert re.search(r'name="draft_uid" value="\d+"', saved.content.decode())
    assert imap.list_folder(jeanne_mailbox, "Drafts", 1, 500).total == before + 1
