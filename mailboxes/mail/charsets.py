"""Charsets as mail really uses them. Text labelled ISO-8859-1 (or US-ASCII) is very often
Windows-1252 (Outlook, Word): its "œ", "€", dashes and curly quotes sit in 0x80-0x9F, where
ISO-8859-1 has only C1 control characters, never meant as text. Browsers decode such text
as Windows-1252 (WHATWG Encoding Standard: the labels "iso-8859-1", "latin1", "us-ascii"
name windows-1252), and so do we, in the reader and in the search index."""

from __future__ import annotations

# The labels the WHATWG Encoding Standard maps to windows-1252 (lower case).
WINDOWS_1252_LABELS = frozenset(
    {
        "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
        "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1",
        "latin1", "latin-1", "us-ascii", "windows-1252", "x-cp1252",
    }
)  # fmt: skip
# C1 control -> the Windows-1252 character at that byte (the five undefined bytes stay).
C1_AS_WINDOWS_1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


def is_windows_1252(charset: str | None) -> bool:
    return (charset or "").strip().lower() in WINDOWS_1252_LABELS


def decode(payload: bytes, charset: str | None) -> str:
    """Bytes of a part labelled `charset`, as a browser would read them; LookupError for a
    charset Python does not know."""
    if is_windows_1252(charset):
        return payload.decode("latin-1").translate(C1_AS_WINDOWS_1252)
    return payload.decode(charset or "utf-8", "replace")


def without_c1(text: str) -> str:
    """Text already decoded as ISO-8859-1, read as Windows-1252. Only for text known to come
    from such a charset: a C1 character of UTF-8 text (U+0085, a line break) stays itself."""
    return text.translate(C1_AS_WINDOWS_1252)
