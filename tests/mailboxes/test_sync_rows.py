from __future__ import annotations

from mailboxes import sync
from mailboxes.models import Folder

HEADERS = (
    b"From: =?utf-8?q?Dr_Karim_BENALI?= <karim.benali@hopital-c.mssante.test>\r\n"
    b"To: =?iso-8859-1?q?H=E9l=E8ne?= <h@a.test>, b@a.test\r\nCc: c@a.test\r\n"
    b"Subject: =?utf-8?q?R=C3=A9sultats_d=27=C3=A9chographie?=\r\n"
    b"Date: Mon, 23 Nov 2026 10:15:00 +0100\r\nMessage-ID: <a@b>\r\n"
    b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
)


def test_it_decodes_the_indexed_headers() -> None:
    data = {sync.HEADERS_KEY: HEADERS, b"FLAGS": (b"\\Seen", b"$Label1"), b"RFC822.SIZE": 42}
    row = sync.row(Folder(pk=1), 7, data)
    assert row.subject == "Résultats d'échographie"
    assert (row.sender_name, row.sender_address) == (
        "Dr Karim BENALI",
        "karim.benali@hopital-c.mssante.test",
    )
    assert row.recipients == "Hélène <h@a.test>, b@a.test, c@a.test"
    assert row.date is not None and row.date.utcoffset() is not None
    assert (row.seen, row.flagged, row.keywords, row.size) == (True, False, ["$Label1"], 42)
    assert row.has_attachments and row.message_id == "<a@b>"


def test_it_keeps_broken_headers_as_they_are() -> None:
    data = {sync.HEADERS_KEY: b"Subject: =?x-unknown?q?abc?=\r\nDate: hier\r\n\r\n"}
    row = sync.row(Folder(pk=1), 1, data)
    assert row.subject == "=?x-unknown?q?abc?="
    assert row.date is None and row.sender_address == ""
