"""URL converters and request-value parsers for IMAP identifiers."""

from __future__ import annotations

MAX_UID = 2**32 - 1  # RFC 3501 9: uniqueid = nz-number, a non-zero unsigned 32-bit integer


def uid_from(value: str) -> int | None:
    """A UID from a request's text (a form field, a query parameter), or None when it is not
    one: never sent to the operator, which would refuse it after earlier commands ran."""
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    uid = int(value)
    return uid if 1 <= uid <= MAX_UID else None


class UidConverter:
    """`<uid:uid>`: 1..4294967295; anything else is no match (404) before the view runs."""

    regex = "[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        uid = uid_from(value)
        if uid is None:
            raise ValueError("not an IMAP UID")
        return uid

    def to_url(self, value: int) -> str:
        return str(value)
