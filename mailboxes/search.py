"""Full-text search over the metadata cache, one interface, two engines.

Text is stored lower-cased and without accents (`searchable`), so "échographie" and
"echographie" are the same word whatever the engine. PostgreSQL matches a generated tsvector
column (config 'simple') through a GIN index; SQLite matches an FTS5 table kept by triggers.
Both are created by migration 0002. Every query term is a prefix: "écho" finds "échographie".
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


def searchable(text: str) -> str:
    """Lower case, accents removed (NFKD without combining marks)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def terms(query: str) -> list[str]:
    """The words of a query, as they are stored."""
    return WORD.findall(searchable(query))[:MAX_TERMS]


def document(*parts: str) -> str:
    """What is stored for a message: its words separated by spaces. Addresses become words
    too ("dupont" finds jean.dupont@…), which PostgreSQL's parser would otherwise keep whole."""
    return " ".join(WORD.findall(searchable(" ".join(parts))))


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
