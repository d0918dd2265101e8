"""The list's rows drawn in Python (webmail/rows.py, issue 16) are the markup the template
components/message_rows.html describes: held equal here on rows of every kind, hostile
text included, in French and English. The template stays as the readable statement of the
markup; a change to one without the other fails this test."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from mailboxes.mail.folders import Listing
from mailboxes.mailcache import cache
from mailboxes.models import Folder, Mailbox, MessageIndex, User
from triage.models import Conversation
from webmail import rows
from webmail.templatetags import triage as triage_tags

pytestmark = pytest.mark.django_db
HOSTILE = '<script>alert("x")</script> & \' "'


def squeezed(html: str) -> str:
    """Whitespace between tags is not markup."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


@pytest.fixture
def page(marie_mailbox: Mailbox) -> list[MessageIndex]:
    folder = Folder.objects.create(mailbox=marie_mailbox, name="Dossiers/Été & co", uidvalidity=7)
    when = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    variants = [
        {"seen": False, "flagged": True, "has_attachments": True, "preview": HOSTILE},
        {"subject": HOSTILE, "sender_name": HOSTILE, "seen": True},
        {"subject": "XDM/1.0/DDM+Compte rendu", "has_xdm": True, "reply_closed": True},
        {"subject": "", "sender_name": "", "sender_address": "1234567890123@patient.mssante.fr"},
        {"recipients": f"Anne ROY <a@x.fr>, b@y.fr, {HOSTILE} <c@z.fr>"},
        {"size": 123_456_789, "thread_key": "<t-assigned@x>"},
        {"thread_key": "<t-done@x>", "seen": False},
        # Sizes at each edge of rows.sizes' own formatting (else filesizeformat's).
        *(
            {"size": size}
            for size in (0, 1023, 1024, 10_188, 1_048_575, 1_048_576, 2**30, 2**31 - 1)
        ),
    ]
    built = []
    for uid, extra in enumerate(variants, start=1):
        fields = {
            "subject": f"Sujet {uid}",
            "sender_name": "Dr Karim BENALI",
            "sender_address": "karim.benali@hopital-c.mssante.test",
            "date": when,
            "size": 2048 * uid,
            "seen": True,
            "thread_key": f"<t{uid}@x>",
            **extra,
        }
        built.append(MessageIndex.objects.create(folder=folder, uid=uid, **fields))
    return built


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    "can_triage, can_send, in_drafts, shows_recipients",
    [(True, True, False, False), (False, False, False, True), (True, True, True, True)],
)
def test_the_python_rows_are_the_templates_rows(
    marie: User,
    marie_mailbox: Mailbox,
    page: list[MessageIndex],
    language: str,
    can_triage: bool,
    can_send: bool,
    in_drafts: bool,
    shows_recipients: bool,
) -> None:
    marie_mailbox.kind, marie_mailbox.owner = Mailbox.Kind.ORGANISATIONAL, None  # shared
    marie_mailbox.save(update_fields=["kind", "owner"])
    Conversation.objects.create(
        mailbox=marie_mailbox, thread_key="<t-assigned@x>", assignee=marie, labels=[HOSTILE]
    )
    Conversation.objects.create(mailbox=marie_mailbox, thread_key="<t-done@x>", status="done")
    health = {3: f"DUPONT Jean — {HOSTILE}"}
    folder = page[0].folder
    listing = cache.page(folder, Listing(), 50)
    context = {
        "folder": folder.name,
        "message_prefix": f"/mail/{marie_mailbox.pk}/message/",
        "compose_url": f"/mail/{marie_mailbox.pk}/compose/",
        "can_triage": can_triage,
        "can_send": can_send,
        "in_drafts": in_drafts,
        "shows_recipients": shows_recipients,
        "selected": {2, 5},
        # The list's order carried by its links (the reader's previous/next), or the folder.
        "list_query": "folder=Dossiers/%C3%89t%C3%A9%20%26%20co&sort=subject" if can_send else "",
    }
    with translation.override(language):
        expected = render_to_string(
            "components/message_rows.html",
            {**context, "mailbox": marie_mailbox, "listing": listing, "health_lines": health},
        )
        triage = triage_tags.triage_states(marie_mailbox, listing.rows)
        assert len(triage) == 2
        drawn = rows.render(listing.rows, rows.Shape(**context), health, triage)
    assert squeezed(drawn).split("><") == squeezed(expected).split("><")
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
