"""Full-text search over the metadata cache, one interface, two engines.

Text is stored lower-cased and without accents (`searchable`), so "échographie" and
"echographie" are the same word whatever the engine. PostgreSQL matches a tsvector column
through a GIN index; we write the vector ourselves, from words we have already split, as
PostgreSQL's to_tsvector would cost ~70 µs a message, as much as the rest of the sync's
database work. SQLite matches an FTS5 table kept by triggers. Both are created by migration
0002. Every query term is a prefix: "écho" finds "échographie".
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models.expressions import RawSQL

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from mailboxes.models import MessageIndex

WORD = re.compile(r"[^\W_]+")  # letters and digits: no engine syntax gets through
MAX_TERMS = 8


COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def searchable(text: str) -> str:
    """Lower case, accents removed (NFKD, then the combining marks dropped)."""
    text = text.lower()
    if text.isascii():
        return text
    return COMBINING.sub("", unicodedata.normalize("NFKD", text))


def terms(query: str) -> list[str]:
    """The words of a query, as they are stored."""
    return WORD.findall(searchable(query))[:MAX_TERMS]


def document(*parts: str) -> str:
    """What is stored for a message: its words separated by spaces. Addresses become words
    too ("dupont" finds jean.dupont@…), which PostgreSQL's parser would otherwise keep whole."""
    return " ".join(WORD.findall(searchable(" ".join(parts))))


MAX_WORD = 100  # longer "words" (encoded junk) are not indexed, as to_tsvector would do


def vector_of(document: str) -> str:
    """The tsvector literal of a stored document: its distinct words, each quoted. The words
    hold letters and digits only (WORD), so nothing needs escaping."""
    return " ".join(f"'{word}'" for word in set(document.split()) if len(word) <= MAX_WORD)


def store(texts: dict[int, str]) -> None:
    """Index the documents of new messages (message primary key -> `document()`)."""
    if not texts:
        return
    if connection.vendor == "postgresql":
        # COPY: the rows are new (their messages were inserted in this transaction).
        with connection.cursor() as cursor, connection.wrap_database_errors:
            sql = "COPY mailboxes_messagetext (message_id, body, vector) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for pk, text in texts.items():
                    copy.write_row((pk, text, vector_of(text)))
        return
    from mailboxes.models import MessageText

    MessageText.objects.bulk_create(
        [MessageText(message_id=pk, body=text) for pk, text in texts.items()],
        ignore_conflicts=True,
        batch_size=500,
    )


def matching(queryset: QuerySet[MessageIndex], query: str) -> QuerySet[MessageIndex]:
    """Messages of `queryset` whose text has every word of `query` (each as a prefix)."""
    words = terms(query)
    if not words:
        return queryset.none()
    if connection.vendor == "postgresql":
        expression = " & ".join(f"{word}:*" for word in words)
        sql = (
            "SELECT message_id FROM mailboxes_messagetext WHERE vector @@ to_tsquery('simple', %s)"
        )
    else:
        expression = " ".join(f'"{word}"*' for word in words)
        sql = "SELECT rowid FROM mailboxes_messagetext_fts WHERE mailboxes_messagetext_fts MATCH %s"
    # The SQL is constant; the user's words are a bound parameter.
    return queryset.filter(pk__in=RawSQL(sql, [expression]))  # noqa: S611
