"""Lists sorted by sender sort by the name shown, and names and subjects the French way
(issue 15, defect 15): accents, case and ligatures do not decide the order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailboxes.mailcache import cache, collation, indexing
from mailboxes.models import Folder, Mailbox

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
SUBJECTS = ["Résultats", "Été 2026", "echographie", "Re: Bilan", "Œdème", "ordonnance", "Éva"]


def test_keys_order_subjects_as_a_french_reader_expects() -> None:
    ordered = sorted(SUBJECTS, key=collation.subject_key)
    assert ordered == ["Re: Bilan", "echographie", "Été 2026", "Éva", "Œdème", "ordonnance",
                       "Résultats"]  # fmt: skip
    # Same letters: a stable tie-break, and both next to each other.
    assert collation.key("Ete") != collation.key("Été")
    assert sorted(["Étude", "Ete", "Été", "Eta"], key=collation.key)[0] == "Eta"


def test_the_sender_key_is_the_name_shown_else_the_address() -> None:
    assert collation.sender_key("Émilie Zola", "z@x.test") < collation.sender_key(
        "", "fanny@x.test"
    )
    assert collation.sender_key("", "zoe@x.test").startswith("zoe x test")


def header_data(subject: str, sender: str) -> dict[bytes, object]:
    raw = f"Subject: {subject}\r\nFrom: {sender}\r\nDate: Sun, 1 Nov 2026 09:00:00 +0100\r\n"
    return {indexing.HEADERS_KEY: raw.encode(), b"FLAGS": (), b"RFC822.SIZE": 10}


@pytest.mark.both_engines
@pytest.mark.django_db
def test_a_folder_sorts_by_name_shown_and_subject_the_french_way() -> None:
    mailbox = Mailbox.objects.create(address="tri@operateur-a.mssante.test", label="Tri")
    folder = Folder.objects.create(mailbox=mailbox, name="INBOX", messages=4)
    people = [
        ("Résultats", "Zoé Martin <a@x.test>"),
        ("Été 2026", "Émile Durand <z@x.test>"),
        ("ordonnance", "bernard@x.test"),
        ("Œdème", "Élodie Petit <c@x.test>"),
    ]
    for uid, (subject, sender) in enumerate(people, start=1):
        row, _ = indexing.row(folder, uid, header_data(subject, sender), indexing.Structure())
        row.save()

    def order(sort: str) -> list[int]:
        return [
            r.uid for r in cache.page(folder, cache.Listing(sort=sort, descending=False), 50).rows
        ]

    assert order("from") == [3, 4, 2, 1]  # bernard, Élodie, Émile, Zoé: by the name shown
    assert order("subject") == [2, 4, 3, 1]  # Été, Œdème, ordonnance, Résultats


@pytest.mark.both_engines
@pytest.mark.django_db
def test_the_keys_compare_byte_wise_on_either_engine() -> None:
    """PostgreSQL's default collation would reorder the keys (spaces, \x01): "C" there."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return  # SQLite compares bytes (BINARY)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_name = 'mailboxes_messageindex' AND column_name LIKE 'sort_%%'"
        )
        assert dict(cursor.fetchall()) == {"sort_sender": "C", "sort_subject": "C"}
