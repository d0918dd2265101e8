"""The CI-SIS "courriel standard" KO mail, matched to the sent message it carries and shown
in French in the outbox (CONFORMANCE.md RCPT b, TST 8), on the real Dovecot."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.urls import reverse

from mailboxes.actions import receipts as receipt_actions
from mailboxes.mail import receipts
from mailboxes.models import Mailbox, Outgoing, Receipt, User
from tests.conftest import client_for
from tests.integration.helpers import deliver_to

pytestmark = pytest.mark.integration
MARIE = "marie.durand@operateur-a.mssante.test"
KARIM = "karim.benali@hopital-c.mssante.test"


def ko_mail(original_id: str, subject: str) -> EmailMessage:
    original = EmailMessage()
    original["From"] = KARIM
    original["To"] = MARIE
    original["Subject"] = "XDM/1.0/DDM+CR d'imagerie LEGRAND Camille"
    original["Message-ID"] = original_id
    original.set_content("Ci-joint.")
    message = EmailMessage()
    message["From"] = f"LPS <{MARIE}>"
    message["Subject"] = subject
    message.set_content("Le document n'a pas pu être intégré.")
    message.add_attachment(original)
    return message


def test_it_attaches_a_ko_mail_to_the_sent_message_and_says_why(
    directory: dict[str, Mailbox], karim: User
) -> None:
    mailbox = directory[KARIM]
    outgoing = Outgoing.objects.create(
        mailbox=mailbox, author=karim, message_id="<sent-ko-1@hopital-c.mssante.test>",
        envelope_from=KARIM, recipients=[MARIE], raw=b"", status="sent",
    )  # fmt: skip
    subject = "[KO Intégration système !][902] Identifiant patient inconnu"
    deliver_to(mailbox, ko_mail(outgoing.message_id, subject))
    deliver_to(mailbox, ko_mail("<not-ours@x.test>", subject))  # about nothing we sent
    assert receipt_actions.do_collect_receipts(mailbox) == 1
    receipt = Receipt.objects.get()
    assert (receipt.outgoing, receipt.recipient, receipt.action) == (outgoing, MARIE, "failed")
    page = client_for(karim).get(reverse("mail-outbox", args=[mailbox.pk])).content.decode()
    assert f"Non intégré par {MARIE} : 902 — Identifiant patient inconnu" in page


def test_it_reads_both_ko_subject_forms() -> None:
    for subject in (
        "[KO Intégration système !][903] Document illisible",
        "[Erreur d’intégration !][904] Patient inconnu",
    ):
        report = receipts.parse(ko_mail("<a@b.test>", subject).as_bytes())
        assert report is not None and report.original_message_id == "<a@b.test>"
        assert report.entries[0].diagnostic.startswith("Error: 90")
    assert receipts.parse(ko_mail("<a@b.test>", "Re: [KO] rien").as_bytes()) is None
