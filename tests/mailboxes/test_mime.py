from __future__ import annotations

from pathlib import Path

import pytest

from mailboxes.mail import headers, mime
from tests.hostile import nested

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def parse(name: str) -> mime.ParsedMessage:
    return mime.parse((FIXTURES / name).read_bytes())


def test_it_decodes_latin1_headers_and_body() -> None:
    message = parse("plain_latin1.eml")
    assert message.subject == "Résultat d'échographie"
    assert message.from_ == "Hélène Girard <helene.girard@operateur-a.mssante.test>"
    assert "le résultat est normal. À bientôt." in message.text
    assert message.date is not None and message.date.utcoffset() is not None
    assert message.message_id == "<latin1@operateur-a.mssante.test>"
    assert not message.text_from_html


def test_it_turns_hostile_html_into_inert_text() -> None:
    message = parse("html_hostile.eml")
    assert message.text_from_html
    assert "Ordonnance & posologie" in message.text
    assert "Ligne\xa02" in message.text
    for leftover in ("<", "alert", "document.write", "steal", "tracker.example", "background"):
        assert leftover not in message.text


def test_it_survives_an_unknown_charset_and_a_bad_date() -> None:
    message = parse("bad_charset.eml")
    assert message.date is None
    assert "Caf" in message.text and "cr" in message.text
    assert "été" in message.subject


def test_it_lists_an_attachment_with_an_rfc2231_french_name() -> None:
    message = parse("attachment_rfc2231.eml")
    assert message.text.strip() == "Voir pièce jointe."
    [attachment] = message.attachments
    assert attachment.filename == "compte-rendu échographie.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")


def test_it_reads_a_truncated_multipart_without_raising() -> None:
    message = parse("truncated_multipart.eml")
    assert message.subject == "truncated"
    assert "no closing boundary" in message.text


def test_it_keeps_an_empty_message_readable() -> None:
    message = mime.parse(b"")
    assert message.subject == "" and message.text == "" and message.attachments == []


def test_it_reads_only_the_headers_of_a_message_nested_too_deeply() -> None:
    for levels in (mime.MAX_DEPTH + 1, 3000):  # walkable but too deep; beyond the stack
        raw, message_id = nested(levels)
        with pytest.raises(mime.TooDeep):
            mime.message(raw)
        parsed = mime.parse(raw)
        assert parsed.too_deep and parsed.message_id == message_id
        assert (parsed.subject, parsed.text, parsed.attachments) == ("Imbrication", "", [])


def test_it_walks_a_message_nested_within_the_bound() -> None:
    parsed = mime.parse(nested(mime.MAX_DEPTH - 1)[0])
    assert not parsed.too_deep and parsed.text.strip() == "Tout au fond."


def attachment_named(disposition: bytes) -> str:
    raw = (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n'
        b"\r\nVoir.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: "
        + disposition
        + b"\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    )
    [attachment] = mime.parse(raw).attachments
    return attachment.filename


def test_it_names_attachments_as_mail_clients_write_names() -> None:
    quoted = b'attachment; filename="=?utf-8?q?compte_rendu_=C3=A9cho.pdf?="'
    assert attachment_named(quoted) == "compte rendu écho.pdf"  # RFC 2047 words, as Outlook
    raw_utf8 = 'attachment;\r\n filename="écho.pdf"'.encode()  # folded, 8-bit (RFC 6532)
    assert attachment_named(raw_utf8) == "écho.pdf"


def test_it_lists_a_message_forwarded_as_an_attachment() -> None:
    """Issue 15 defect 1: a message/rfc822 part is one attachment, named after its subject;
    the forwarded message's own parts belong to it, not to the outer message."""
    message = parse("forwarded_as_attachment.eml")
    assert message.text.strip() == "Voir le message joint."
    [attached] = message.attachments
    assert attached.is_message
    assert attached.filename == "Résultats de biologie.eml"
    part = mime.part_at(message.msg, attached.index)
    assert part is not None and part.content_type == "message/rfc822"
    assert attached.size == len(part.payload) > 0
    again = mime.parse(part.payload)  # the download is the forwarded message itself
    assert again.message_id == "<inner@operateur-a.mssante.test>"
    assert "Bilan normal, à revoir" in again.text


def test_it_opens_a_message_forwarded_as_an_attachment() -> None:
    message = parse("forwarded_as_attachment.eml")
    opened = mime.attached(message.msg, message.attachments[0].index)
    assert opened is not None
    assert opened.subject == "Résultats de biologie"
    assert opened.from_ == "Laboratoire <labo@operateur-a.mssante.test>"
    assert "Bilan normal, à revoir dans six mois." in opened.text
    # Its parts keep the outer numbering: the same part URLs serve them.
    [pdf] = opened.attachments
    found = mime.part_at(message.msg, pdf.index)
    assert found is not None and found.filename == "bilan.pdf"
    assert found.payload.startswith(b"%PDF-1.4")
    assert opened.html_index is not None
    assert "<b>normal</b>" in mime.part_text_of(message.msg, opened.html_index)
    assert mime.attached(message.msg, pdf.index) is None  # not a message


WINDOWS_1252_AS_LATIN1 = (
    b"From: a@b.test\r\nSubject: =?iso-8859-1?q?C=9Cur_=96_bilan?=\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Man\x9cuvre \x96 co\xfbt 30 \x80, \x93entre guillemets\x94.\r\n"
)


def test_it_reads_iso_8859_1_that_is_windows_1252_as_browsers_do() -> None:
    """Issue 15 defect 12: "œ", "€", dashes and quotes of Windows-1252 text labelled
    ISO-8859-1 are shown, not C1 control characters (boxes)."""
    message = mime.parse(WINDOWS_1252_AS_LATIN1)
    assert "Manœuvre – coût 30 €, “entre guillemets”." in message.text


def test_it_indexes_iso_8859_1_that_is_windows_1252_as_browsers_do() -> None:
    from mailboxes.mailcache import indexing

    part = indexing.TextPart("1", "8bit", "iso-8859-1", False)
    assert "Manœuvre – coût 30 €" in indexing.body_text(WINDOWS_1252_AS_LATIN1, part)
    assert headers.decoded("=?iso-8859-1?q?C=9Cur?=") == "Cœur"
