"""Search and conversations from the cache, within what the person may read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from django.urls import reverse

from mailboxes.mailcache import cache, search
from mailboxes.models import AuditEvent, Mailbox, MessageIndex, User
from mailboxes.operator import imap
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, synced

# Run on PostgreSQL (tsvector + GIN) and again on SQLite (FTS5): scripts/test.sh.
pytestmark = [pytest.mark.integration, pytest.mark.both_engines]


def message(subject: str, body: str, attachment: bool = False) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg.set_content(body)
    if attachment:
        msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="cr.pdf")
    return msg


@pytest.mark.django_db
def test_it_finds_words_with_or_without_accents_within_readable_mailboxes(
    marie: User, marie_mailbox: Mailbox, karim_mailbox: Mailbox
) -> None:
    run = uuid.uuid4().hex[:8]  # the operator keeps earlier runs' mail: ours is marked
    result, other, karims = f"Résultat {run}", f"Autre {run}", f"Chez Karim {run}"
    deliver_to(marie_mailbox, message(result, "Échographie abdominale sans anomalie.", True))
    deliver_to(marie_mailbox, message(other, "Radiographie du thorax."))
    deliver_to(karim_mailbox, message(karims, "Échographie cardiaque."))
    synced(marie_mailbox, karim_mailbox)
    client = client_for(marie)

    def subjects(**query: str) -> list[str]:
        page = client.post(reverse("mail-search"), query)
        assert page.status_code == 200
        return sorted(row.subject for row in page.context["results"] if run in row.subject)

    assert subjects(q="echographie") == [result]  # Karim's mailbox is not Marie's
    assert subjects(q="ÉCHOGRAPH abdo") == [result]  # prefixes, any case, all words
    assert subjects(q="radiographie echographie") == []
    assert subjects(q="graphie") == []  # words, not substrings
    assert subjects(q="thorax", attachments="on") == []
    assert subjects(q="benali") == subjects(sender="karim") == sorted([other, result])
    assert result in subjects(unread="on")
    assert subjects(q="echographie", since="2000-01-01", until="2000-01-02") == []
    assert client.post(reverse("mail-search"), {"q": ""}).status_code == 400
    assert (
        client.post(reverse("mail-search"), {"q": "x", "mailbox": karim_mailbox.pk}).status_code
        == 400
    )
    # Audited per mailbox, without the words.
    event = AuditEvent.objects.filter(action="message.search").first()
    assert event is not None and "echographie" not in f"{event.target}{event.response}"


@pytest.mark.django_db
def test_the_search_engine_ignores_its_own_syntax(marie_mailbox: Mailbox) -> None:
    subject = f"Syntaxe {uuid.uuid4().hex[:8]}"
    deliver_to(marie_mailbox, message(subject, "Le NEAR du OR et du AND."))
    synced(marie_mailbox)
    scope = MessageIndex.objects.filter(folder__mailbox=marie_mailbox)
    for hostile in ('"near', "or)", "* AND", "-and", "near(or, and)", "'; DROP TABLE x; --"):
        list(search.matching(scope, hostile))  # never a syntax error from the engine
    assert search.matching(scope, '"NEAR" (or)').filter(subject=subject).exists()


@pytest.mark.django_db
def test_a_conversation_gathers_its_messages_across_folders(
    marie: User, marie_mailbox: Mailbox, karim: User
) -> None:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    first = message(f"Avis {run}", "Pouvez-vous voir ce patient ?")
    first["Date"] = format_datetime(now - timedelta(minutes=2))
    deliver_to(marie_mailbox, first)
    ours = message(f"Re: Avis {run}", "Je vous l'adresse demain.")  # our answer, in Sent
    ours["Message-ID"] = f"<{run}@operateur-a.mssante.test>"
    ours["Date"] = format_datetime(now - timedelta(minutes=1))
    ours["In-Reply-To"] = ours["References"] = first["Message-ID"]
    imap.append(marie_mailbox, "\\Sent", ours.as_bytes())
    answer = message(f"Re: Re: Avis {run}", "Oui, demain.")
    answer["In-Reply-To"] = ours["Message-ID"]
    answer["References"] = f"{first['Message-ID']} {ours['Message-ID']}"
    answer["Date"] = format_datetime(now)
    deliver_to(marie_mailbox, answer)
    synced(marie_mailbox)
    row = MessageIndex.objects.get(folder__mailbox=marie_mailbox, subject=f"Avis {run}")
    url = reverse("mail-conversation", args=[marie_mailbox.pk])
    page = client_for(marie).get(url, {"thread": row.thread_key})
    assert page.status_code == 200
    # Issue 15 defect 3: the rows are not Django's `messages`, shown as banners by base.html.
    assert 'class="banner ok"' not in page.content.decode()
    assert [(m.subject, m.folder.name) for m in page.context["thread"]] == [
        (f"Avis {run}", "INBOX"),
        (f"Re: Avis {run}", "Sent"),
        (f"Re: Re: Avis {run}", "INBOX"),
    ]
    assert cache.conversation(marie_mailbox, row.thread_key).count() == 3
    # Issue 15 defect 8: the folders by their French special-use names, not IMAP's.
    assert "Envoyés" in page.content.decode() and ">Sent<" not in page.content.decode()
    found = client_for(marie).post(reverse("mail-search"), {"q": f"avis {run}"})
    assert "Envoyés" in found.content.decode() and ">Sent<" not in found.content.decode()
    reader = client_for(marie).get(
        reverse("mail-message", args=[marie_mailbox.pk, row.uid]), {"folder": "INBOX"}
    )
    assert "3 messages dans cette conversation" in reader.content.decode()
    # Someone else's conversation is not found, whatever the key.
    assert client_for(karim).get(url, {"thread": row.thread_key}).status_code == 404


@pytest.mark.django_db
def test_search_says_it_is_incomplete_while_a_mailbox_is_still_being_filled(
    marie: User, marie_mailbox: Mailbox
) -> None:
    """Issue 16: the first sync fills newest first; until a folder is whole, the search
    says which mailboxes it may be missing older messages of."""
    synced(marie_mailbox)
    client = client_for(marie)
    warning = "Cette recherche est incomplète"
    page = client.post(reverse("mail-search"), {"q": "échographie"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert warning not in page.content.decode()

    inbox = marie_mailbox.folders.get(name="INBOX")
    inbox.synced_at = None  # as while its backfill runs: set when the folder is whole
    inbox.save(update_fields=["synced_at"])
    page = client.post(reverse("mail-search"), {"q": "échographie"}, HTTP_ACCEPT_LANGUAGE="fr")
    html = page.content.decode()
    assert warning in html and str(marie_mailbox) in html.split(warning)[1][:400]
