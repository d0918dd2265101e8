from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from imapclient.response_parser import parse_fetch_response

from mailboxes.mailcache import indexing, sync
from mailboxes.models import Folder

HEADERS = (
    b"From: =?utf-8?q?Dr_Karim_BENALI?= <karim.benali@hopital-c.mssante.test>\r\n"
    b"To: =?iso-8859-1?q?H=E9l=E8ne?= <h@a.test>, b@a.test\r\nCc: c@a.test\r\n"
    b"Subject: =?utf-8?q?R=C3=A9sultats_d=27=C3=A9chographie?=\r\n"
    b"Date: Mon, 23 Nov 2026 10:15:00 +0100\r\nMessage-ID: <a@b>\r\n"
    b"References: <root@x> <parent@x>\r\nIn-Reply-To: <parent@x>\r\n\r\n"
)
# A CDA report as MSSanté sends it: text and HTML alternatives, then IHE_XDM.ZIP.
XDM_STRUCTURE = (
    b'1 (UID 7 BODYSTRUCTURE ((("TEXT" "PLAIN" ("CHARSET" "iso-8859-1") NIL NIL '
    b'"QUOTED-PRINTABLE" 120 4 NIL NIL NIL NIL)("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL '
    b'"BASE64" 300 5 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "b1") NIL NIL NIL)'
    b'("APPLICATION" "ZIP" ("NAME" "IHE_XDM.ZIP") NIL NIL "BASE64" 2000 NIL '
    b'("ATTACHMENT" ("FILENAME" "IHE_XDM.ZIP")) NIL NIL) "MIXED" ("BOUNDARY" "b0") NIL NIL NIL))'
)
HTML_ONLY = (
    b'1 (UID 8 BODYSTRUCTURE ("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "BASE64" 300 5 '
    b"NIL NIL NIL NIL))"
)


def bodystructure(line: bytes) -> object:
    return next(iter(parse_fetch_response([line]).values()))[b"BODYSTRUCTURE"]


def test_it_decodes_the_indexed_headers() -> None:
    data = {
        indexing.HEADERS_KEY: HEADERS,
        b"FLAGS": (b"\\Seen", b"$Label1"),
        b"RFC822.SIZE": 42,
        b"BODYSTRUCTURE": bodystructure(XDM_STRUCTURE),
    }
    row, structure = indexing.row(Folder(pk=1), 7, data)
    assert row.subject == "Résultats d'échographie"
    assert (row.sender_name, row.sender_address) == (
        "Dr Karim BENALI",
        "karim.benali@hopital-c.mssante.test",
    )
    assert row.recipients == "Hélène <h@a.test>, b@a.test, c@a.test"
    assert row.date == datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    assert (row.seen, row.flagged, row.keywords, row.size) == (True, False, ["$Label1"], 42)
    assert row.has_attachments and row.has_xdm and row.message_id == "<a@b>"
    assert row.thread_key == "<root@x>"  # the conversation's first message
    assert structure.text == indexing.TextPart("1.1", "quoted-printable", "iso-8859-1", False)


def test_it_marks_a_message_whose_patient_cannot_reply() -> None:
    """HDR-IN: X-MSS-MES: FIN is fetched with the indexed headers and kept on the row, for
    the Sent list ("réponse de l'usager bloquée"); any other value is no mark."""
    data = {indexing.HEADERS_KEY: HEADERS.replace(b"\r\n\r\n", b"\r\nX-MSS-MES: fin\r\n\r\n")}
    assert b"X-MSS-MES" in indexing.HEADERS
    assert indexing.row(Folder(pk=1), 7, data)[0].reply_closed
    assert not indexing.row(Folder(pk=1), 7, {indexing.HEADERS_KEY: HEADERS})[0].reply_closed


def test_it_keeps_broken_headers_as_they_are_and_dates_by_arrival() -> None:
    arrival = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    data = {
        indexing.HEADERS_KEY: b"Subject: =?x-unknown?q?abc?=\r\nDate: hier\r\n\r\n",
        b"INTERNALDATE": arrival,
    }
    row, structure = indexing.row(Folder(pk=1), 1, data)
    # An unknown charset: its ASCII read as the reader (policy.default) reads it, so the list
    # and the open message agree (they did not before mailboxes.mail.headers).
    assert row.subject == "abc"
    assert row.date == arrival and row.sender_address == ""
    assert row.thread_key == "<1.1@cache>" and structure.text is None


def test_it_reads_html_only_and_cut_base64_text() -> None:
    structure = indexing.structure_of(bodystructure(HTML_ONLY))
    assert structure.text == indexing.TextPart("1", "base64", "utf-8", True)
    html = "<p>Bonjour,</p><script>alert(1)</script><p>l&#39;échographie est normale.</p>"
    encoded = base64.encodebytes(html.encode())
    text = indexing.body_text(encoded[:-3], structure.text)  # cut mid-way, as <0.N> does
    assert "alert" not in text and text.startswith("Bonjour,")
    assert "l'échographie est norm" in text
    assert not structure.attachments and not structure.xdm


@pytest.mark.parametrize(
    ("text", "preview"),
    [
        (
            "Bonjour,\n\n> ancien message\nVoici   le compte rendu.",
            "Bonjour, Voici le compte rendu.",
        ),
        ("x" * 300, "x" * 160),
        ("", ""),
    ],
)
def test_previews_leave_quotes_and_spaces_out(text: str, preview: str) -> None:
    assert indexing.preview_of(text) == preview


def test_uid_sets_from_vanished() -> None:
    assert sync.uid_set("1:3,7,10:9") == [1, 2, 3, 7, 9, 10]


def test_thread_roots() -> None:
    assert indexing.thread_root("", "<p@x>", "<m@x>") == "<p@x>"
    assert indexing.thread_root("garbage", "", "<m@x>") == "<m@x>"


def test_copyuid_answers_say_where_a_move_put_each_message() -> None:
    """RFC 4315 COPYUID, as imaplib collects it from a MOVE (untagged) or a COPY (tagged):
    the undo of a move finds the messages by these UIDs."""
    from mailboxes.operator import imap

    found = imap.copied([b"1796145491 1:2,5 7:8,12"])
    assert found == imap.Copied(1796145491, {1: 7, 2: 8, 5: 12})
    assert imap.copied([b"17 3 9", "17 4 10"]) == imap.Copied(17, {3: 9, 4: 10})
    assert imap.copied([]) == imap.Copied(None, {})
    assert imap.copied([b"garbage"]) == imap.Copied(None, {})
