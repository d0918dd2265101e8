"""What the reader gets for a received message (CONFORMANCE.md XDM-R11, CDA-R2, HDR-IN,
PAT4), from messages built as another MSSanté system sends them (the demo's)."""

from __future__ import annotations

from django.utils import timezone

from documents import reading
from mailboxes.mail import mime
from webmail.demo import messages


def received(key: str) -> mime.ParsedMessage:
    demo = next(m for m in messages.MESSAGES if m.key == key)
    return mime.parse(messages.build(demo, timezone.now()).as_bytes())


def test_it_knows_the_pdf_beside_the_package_is_the_same_document() -> None:
    """CDA-R2: the N3 and its PDF are one row; the separate PDF is not another document."""
    parsed = received("21")
    found = reading.of_message(parsed)
    [pdf] = [a for a in parsed.attachments if a.content_type == "application/pdf"]
    assert found.companions == {pdf.index}
    assert len(found.packages) == 1 and len(found.packages[0].summary.documents) == 1
    assert dict(found.headers) == {"X-MSS-CODECDA": "11502-2", "X-MSS-INS": "O"}


def test_it_marks_a_patient_sender_and_no_package() -> None:
    found = reading.of_message(received("25"))
    assert found.from_patient and found.packages == [] and found.companions == set()
