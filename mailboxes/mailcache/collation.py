"""Sort keys that order names and subjects the French way, identically on PostgreSQL and
SQLite (issue 15, defect 15).

A database collation (PostgreSQL ICU `fr-x-icu`, a SQLite `create_collation`) would do it
on one engine at a time, and SQLite's would have to be registered on every connection,
migrations included. Instead the cache stores a key per message, computed here once at
indexing, whose plain byte order (PostgreSQL `COLLATE "C"`, SQLite BINARY) is the French
order at its first levels: letters without accents, case or ligature ("Été" with "ete",
"Œdème" with "oedeme"), then the accents and case as the tie-break, so the order is total
and stable. An index on (folder, key, uid) serves both directions of keyset paging.
"""

from __future__ import annotations

import re
import unicodedata

KEY_LENGTH = 250  # the column holds 255; the tie-break goes once the base is long
BASE_LENGTH = 120
EXPANSIONS = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l"})
NOT_SORTED = re.compile(r"[^0-9a-z]+")  # punctuation and quotes do not decide the order
# Reply and forward markers ("Re:", "TR :", "Fwd:"), as webmails sort by the subject itself.
# The IHE XDM prefix is hidden in the UI (XDM-R12): not sorted on either.
MARKERS = re.compile(
    r"^\s*(?:(?:re|tr|fw|fwd|aw|rép|réf)\s*(?:\[\d+\])?\s*:\s*|XDM/1\.0/DDM\+\s*)+", re.I
)


def _base(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold().translate(EXPANSIONS))
    letters = "".join(c for c in folded if not unicodedata.combining(c))
    return NOT_SORTED.sub(" ", letters).strip()[:BASE_LENGTH]


def key(text: str) -> str:
    """The sort key of a name or subject: French first-level order, then a tie-break."""
    base = _base(text)
    # "\x01" sorts before any letter: "ete" (Ete, Été) before "ete x"; the text itself (NFC)
    # decides between "Ete" and "Été", always the same way.
    return f"{base}\x01{unicodedata.normalize('NFC', text)}"[:KEY_LENGTH]


def sender_key(name: str, address: str) -> str:
    """The list shows the name, else the address: it sorts by what it shows."""
    return key(name.strip().strip("\"'") or address)


def subject_key(subject: str) -> str:
    return key(MARKERS.sub("", subject or ""))
