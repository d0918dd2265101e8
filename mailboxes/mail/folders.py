"""What a folder name may be, and what a message list asks for: shared by the pages, the
cache's queries and the operator's SORT."""

from __future__ import annotations

from dataclasses import dataclass

# Folder names come from URLs and forms: only what an IMAP mailbox name can be, no wildcards
# (RFC 3501 LIST's * and %) and no line breaks.
FORBIDDEN_IN_FOLDER = frozenset("*%\r\n\0")


def check_folder(folder: str) -> str:
    """The name, or ValueError."""
    if not folder or len(folder) > 200 or FORBIDDEN_IN_FOLDER.intersection(folder):
        raise ValueError("invalid folder name")
    return folder


@dataclass(frozen=True)
class Listing:
    """How a message list is ordered and filtered."""

    sort: str = "date"
    descending: bool = True
    unread_only: bool = False
