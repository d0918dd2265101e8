"""Property-based: the MIME parsing and the address rules never raise on anything a sender
may put in a message, and what we write reads back as written (issue 17)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import example, given
from hypothesis import strategies as st

from mailboxes.mail import headers, mime
from mailboxes.mailcache import indexing
from tests.strategies import address, display_name, header_text, header_value, hostile_message


@given(st.binary(max_size=3000))
def test_any_bytes_parse_as_a_message_or_its_headers(raw: bytes) -> None:
    parsed = mime.parse(raw)
    assert isinstance(parsed.subject, str) and "\x00" not in parsed.subject
    assert all(isinstance(a, str) for a in parsed.to + parsed.cc)


# Found by fuzzing: a multipart whose boundary never opens made get_body raise (reader: 500).
@example(
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain'
    b'\r\n\r\n\r\n--b\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n\r\n'
)
@given(hostile_message())
def test_a_hostile_message_is_read_whole_without_an_exception(raw: bytes) -> None:
    parsed = mime.parse(raw)
    for text in (parsed.subject, parsed.from_, parsed.sender, parsed.message_id):
        assert isinstance(text, str) and "\x00" not in text
    assert isinstance(parsed.text, str)  # shown escaped; what is stored: test_fuzz_sync.py
    msg = parsed.msg
    for index in range(len(mime.leaves(msg)) + 1):  # every part the reader may link to
        mime.part_at(msg, index)
        mime.part_text_of(msg, index)
        mime.attached(msg, index)
    mime.content_ids(msg)
    fields = indexing.fields_of(raw.split(b"\r\n\r\n", 1)[0])  # the sync's own header reading
    assert all("\x00" not in v for values in fields.values() for v in values)


@example(['"\n"@\x00', "\x00@\x00"])  # found by fuzzing: control characters in an address
@given(st.lists(header_value, max_size=4))
def test_the_address_rules_never_raise(values: list[str]) -> None:
    pairs = headers.addresses(values)
    for _, found in pairs:  # an address, never a control character in it (PostgreSQL, pages)
        local, _, domain = found.rpartition("@")
        assert local and domain and not headers.CONTROLS.search(found)
        assert not any(c.isspace() for c in domain)
    assert all(isinstance(headers.display(p), str) for p in pairs)
    headers.people(values)
    for value in values:
        headers.first_address(value)
        headers.lenient_recipients(value)
        headers.parse_date(value)
        headers.redacted(value)
        assert "\x00" not in headers.decoded(value)
        line = headers.one_line(value)
        assert not headers.BREAKS.search(line)
        for found in headers.message_ids(value):
            assert headers.MSG_ID.fullmatch(found)
        # The composer says which item is not an address: its one allowed failure.
        with contextlib.suppress(ValueError):
            headers.recipients(value)


@given(st.lists(st.tuples(display_name, address), min_size=1, max_size=4))
def test_what_display_writes_reads_back_as_the_same_pairs(pairs: list[tuple[str, str]]) -> None:
    """A reply-all's Cc is `display` text the person may edit: it must parse back."""
    text = ", ".join(headers.display(pair) for pair in pairs)
    expected = [(" ".join(name.split()), addr) for name, addr in pairs]
    assert headers.addresses([text]) == expected
    assert headers.recipients(text) == [addr for _, addr in pairs]


@given(display_name, address)
def test_a_from_we_write_reads_back(name: str, addr: str) -> None:
    value = headers.for_header(name, addr)
    assert "\n" not in value and "\r" not in value
    [(read_name, read_address)] = headers.addresses([value])
    assert read_address == addr
    assert read_name == " ".join(headers.one_line(name).split())


@given(st.lists(st.tuples(header_text, address), max_size=5))
def test_message_ids_we_write_are_found_again(parts: list[tuple[str, str]]) -> None:
    ids = [headers.new_message_id(addr) for _, addr in parts]
    noise = " ".join(f"{text} {mid}" for (text, _), mid in zip(parts, ids, strict=True))
    assert headers.message_ids(noise) == ids or any("<" in t or ">" in t for t, _ in parts)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),  # noqa: DTZ001
       st.integers(min_value=-12 * 60, max_value=14 * 60))  # fmt: skip
def test_a_date_we_write_reads_back(moment: datetime, offset: int) -> None:
    aware = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset)))
    assert headers.parse_date(format_datetime(aware)) == aware
    assert headers.parse_date(format_datetime(aware.astimezone(UTC))) == aware
