"""Hypothesis strategies for hostile mail: header text, whole messages as the operator may
hand them over, address pairs that must survive a round trip. Bounded (tests/conftest.py
loads the "suite" profile: few examples, derandomised, no example database)."""

from __future__ import annotations

import base64

from hypothesis import strategies as st

# Text a header may carry once decoded: any character, the awkward ones more often.
AWKWARD = st.sampled_from(
    [*'"<>@,;:()[]\\\x00\r\n\t =?', "=?utf-8?q?", "=?iso-8859-1?b?", "?=", "\u2028", "é", "�"]
)
header_text = st.lists(st.one_of(AWKWARD, st.characters()), max_size=40).map("".join)
NAMES = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
     "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "MIME-Version",
     "Disposition-Notification-To", "Return-Path", "X-MSS-INS", "Sender"]
)  # fmt: skip
CHARSETS = st.sampled_from(
    ["utf-8", "iso-8859-1", "windows-1252", "us-ascii", "x-unknown", "utf-7", "", "utf-16"]
)
TYPES = st.sampled_from(
    ["text/plain", "text/html", "application/pdf", "application/zip", "message/rfc822",
     "message/delivery-status", "text/rfc822-headers", "image/png", "bogus", "text/"]
)  # fmt: skip
ENCODINGS = st.sampled_from(["", "7bit", "8bit", "base64", "quoted-printable", "x-uuencode"])


def encoded_word(text: str, charset: str) -> str:
    raw = text.encode("utf-8", "surrogatepass")
    return f"=?{charset or 'utf-8'}?b?{base64.b64encode(raw).decode()}?="


header_value = st.one_of(
    header_text,
    st.builds(encoded_word, header_text, CHARSETS),
    st.builds(lambda a, b: f'"{a}" <{b}>', header_text, header_text),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
)


@st.composite
def part(draw: st.DrawFn, depth: int = 0) -> bytes:
    """One MIME part: its header lines (odd ones included), then a body or sub-parts."""
    kind = "multipart/" + draw(st.sampled_from(["mixed", "alternative", "report", "related"]))
    multipart = depth < 3 and draw(st.booleans())
    boundary = draw(st.sampled_from(["b", "--", "b b", "", "x" * 75]))
    lines = []
    if multipart:
        lines.append(f'Content-Type: {kind}; boundary="{boundary}"')
    else:
        lines.append(
            f"Content-Type: {draw(TYPES)}; charset={draw(CHARSETS)}; name={draw(header_text)!r}"
        )
    if draw(st.booleans()):
        lines.append(f"Content-Transfer-Encoding: {draw(ENCODINGS)}")
    if draw(st.booleans()):
        lines.append(f"Content-Disposition: attachment; filename*=utf-8''{draw(header_text)}")
    head = "\r\n".join(lines).encode("utf-8", "surrogatepass")
    if multipart:
        children = draw(st.lists(part(depth + 1), max_size=3))
        close = draw(st.booleans())  # a missing closing boundary is common enough
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + c + b"\r\n" for c in children)
        body += (b"--" + boundary.encode() + b"--\r\n") if close else b""
    else:
        body = draw(
            st.one_of(
                st.binary(max_size=200),
                header_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
            )
        )
    return head + b"\r\n\r\n" + body


@st.composite
def hostile_message(draw: st.DrawFn, message_id: str = "") -> bytes:
    """A whole message: arbitrary header fields (folded, repeated, broken), then a MIME tree."""
    fields = draw(st.lists(st.tuples(NAMES, header_value), max_size=8))
    lines = [f"{name}: {value}" for name, value in fields]
    if message_id:
        lines = [line for line in lines if not line.lower().startswith("message-id")]
        lines.append(f"Message-ID: {message_id}")
    if draw(st.booleans()):
        lines.append("MIME-Version: 1.0")
    head = "\r\n".join(lines).encode("utf-8", "surrogatepass")
    return head + b"\r\n" + draw(part())


# Addresses that must round-trip: a plain local part and a domain name.
local_part = st.from_regex(r"[a-z0-9](?:[a-z0-9._+-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda s: ".." not in s
)
domain = st.lists(
    st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), min_size=2, max_size=4
).map(".".join)
address = st.builds(lambda local, dom: f"{local}@{dom}", local_part, domain)
# A display name as a person types it: letters, accents, punctuation, specials; no control
# characters and nothing that reads as an RFC 2047 encoded word.
display_name = st.text(
    st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=30
).filter(lambda s: "=?" not in s)
