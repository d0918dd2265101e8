"""Suggestions while typing a recipient (CONFORMANCE.md DIR5): the person's recent
correspondents first, then the directory; accent- and case-insensitive word prefixes, one
interface over two engines (PostgreSQL tsvector + GIN, SQLite FTS5)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from directory import trustlist
from directory.models import DirectoryEntry
from mailboxes.mailcache.search import document, terms
from mailboxes.models import Outgoing, User

MIN_CHARS = 3
LIMIT = 10
RECENT = 200  # sent messages looked at for recent correspondents


@dataclass(frozen=True)
class Suggestion:
    address: str
    name: str  # "Dr Prénom NOM", or the service or structure of a shared mailbox
    detail: str  # "profession — structure — ville"
    kind: str  # PER, ORG, APP, CAB; "" for a correspondent not in the directory
    trusted: bool = False
    recent: bool = False


def matching(query: str, capped: bool = True) -> QuerySet[DirectoryEntry]:
    """Entries having, for each word of `query`, a word starting with it (on SQLite, the
    first 200 unless not `capped`)."""
    words = terms(query)
    if not words:
        return DirectoryEntry.objects.none()
    if connection.vendor == "postgresql":
        expression = " & ".join(f"{word}:*" for word in words)
        # The SQL is constant; the words are a bound parameter. A plain WHERE (not a
        # sub-select) lets the LIMIT stop the bitmap heap scan early.
        return DirectoryEntry.objects.extra(
            where=["vector @@ to_tsquery('simple', %s)"], params=[expression]
        )
    expression = " ".join(f'"{word}"*' for word in words)
    sql = "SELECT rowid FROM directory_entry_fts WHERE directory_entry_fts MATCH %s LIMIT 200"
    return DirectoryEntry.objects.filter(pk__in=RawSQL(sql, [expression]))  # noqa: S611


def recent_correspondents(person: User) -> list[str]:
    """The addresses the person wrote to, most recent first."""
    sent = Outgoing.objects.filter(author=person).order_by("-created")
    lists = sent.values_list("recipients", flat=True)[:RECENT]
    return list(dict.fromkeys(a.lower() for recipients in lists for a in recipients if "@" in a))


def matches_words(address: str, words: list[str]) -> bool:
    have = document(address).split()
    return all(any(w.startswith(term) for w in have) for term in words)


def suggestion(entry: DirectoryEntry, trusted: set[str], recent: bool) -> Suggestion:
    if entry.kind in ("PER", "CAB") and (entry.last_name or entry.first_name):
        name = " ".join(p for p in (entry.civility, entry.first_name, entry.last_name) if p)
        parts = [entry.specialty or entry.profession, entry.structure, entry.city]
    else:
        name = entry.service or entry.structure or entry.address
        parts = [entry.structure if entry.service else "", entry.city]
    detail = " — ".join(p for p in parts if p)
    return Suggestion(
        entry.address, name, detail, entry.kind, entry.address in trusted, recent=recent
    )


def suggest(person: User, query: str, limit: int = LIMIT) -> list[Suggestion]:
    """At most `limit` suggestions for what the person typed; none under MIN_CHARS."""
    words = terms(query)
    if len("".join(words)) < MIN_CHARS:
        return []
    everyone = recent_correspondents(person)
    entries = {e.address: e for e in matching(query, capped=False).filter(address__in=everyone)}
    recent = [a for a in everyone if a in entries or matches_words(a, words)][:limit]
    others = list(matching(query).exclude(address__in=recent)[: limit - len(recent)])
    trusted = trustlist.trusted_among([*recent, *(e.address for e in others)])
    found = [
        suggestion(entries[a], trusted, recent=True)
        if a in entries
        else Suggestion(a, a, "", "", a in trusted, recent=True)
        for a in recent
    ]
    return found + [suggestion(e, trusted, recent=False) for e in others]


def lookup(query: str, limit: int = 50) -> list[Suggestion]:
    """The directory page: entries matching every word (from MIN_CHARS characters)."""
    words = terms(query)
    if len("".join(words)) < MIN_CHARS:
        return []
    entries = list(matching(query).order_by("last_name", "first_name", "structure")[:limit])
    trusted = trustlist.trusted_among([e.address for e in entries])
    return [suggestion(e, trusted, recent=False) for e in entries]
