"""Integration results in read reports and Mon espace santé bounces (CONFORMANCE.md RCPT a
and c, TST 8), shown in French on the sent message."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from mailboxes.actions import receipts as receipt_actions
from mailboxes.mail import receipts
from mailboxes.models import Mailbox, Outgoing, Receipt, User

CISIS_MDN = b"""From: lps@hopital-c.mssante.test
To: marie.durand@operateur-a.mssante.test
Subject: Accuse de lecture
Message-ID: <mdn-902@hopital-c.mssante.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

Document non integre.
--b
Content-Type: message/disposition-notification

Reporting-UA: LPS CH de C
Final-Recipient: rfc822; lps@hopital-c.mssante.test
Original-Message-ID: <sent-1@operateur-a.mssante.test>
Disposition: automatic-action/MDN-sent-automatically; processed/Error: 902^Identifiant patient inconnu

--b--
"""


def shown(receipt: Receipt) -> str:
    template = Template('{% include "components/receipt.html" %}')
    with translation.override("fr"):
        return template.render(Context({"receipt": receipt}))


def test_it_reads_a_ci_sis_integration_error_from_a_read_report() -> None:
    """RCPT (a): `processed/Error: 902^…` -> "Non intégré : 902 — …"."""
    report = receipts.parse(CISIS_MDN)
    assert report is not None and report.kind == "mdn"
    [entry] = report.entries
    assert (entry.action, entry.diagnostic) == (
        "processed",
        "Error: 902^Identifiant patient inconnu",
    )
    receipt = Receipt(kind="mdn", recipient=entry.recipient, action=entry.action,
                      diagnostic=entry.diagnostic)  # fmt: skip
    assert (
        "Non intégré par lps@hopital-c.mssante.test : 902 — Identifiant patient inconnu"
        in shown(receipt)
    )


def test_it_keeps_plain_read_reports_as_they_were() -> None:
    plain = CISIS_MDN.replace(
        b"automatic-action/MDN-sent-automatically; processed/Error: 902^Identifiant patient inconnu",
        b"manual-action/MDN-sent-manually; displayed",
    )
    report = receipts.parse(plain)
    assert report is not None
    assert (report.entries[0].action, report.entries[0].diagnostic) == ("displayed", "")


def test_it_explains_mon_espace_sante_bounces_in_french() -> None:
    """RCPT (c)."""
    receipt = Receipt(kind="dsn", recipient="***@patient.mssante.fr", action="failed",
                      status="5.1.1", diagnostic="smtp; 550 5.1.1 patient non trouvé")  # fmt: skip
    assert "usager introuvable dans Mon espace santé" in shown(receipt)
    receipt.diagnostic = "smtp; 550 5.2.1 messagerie fermée"
    assert "messagerie Mon espace santé de l&#x27;usager est fermée" in shown(receipt)
    receipt.diagnostic = "smtp; 552 5.3.4 Message size exceeds fixed limit"
    assert "trop volumineux pour Mon espace santé" in shown(receipt)


def test_it_never_explains_a_professional_s_failure_as_mon_espace_sante_s() -> None:
    """RCPT (c): "size" for a hospital's address is that hospital's limit, not 25 MB."""
    receipt = Receipt(kind="dsn", recipient="karim@hopital-c.mssante.test", action="failed",
                      diagnostic="smtp; 552 5.3.4 Message size exceeds fixed limit")  # fmt: skip
    assert "Mon espace santé" not in shown(receipt)


PATIENT = "175037512345678@patient.mssante.fr"  # not a real INS: only the domain matters here
SENT_ID = "<sent-mes@operateur-a.mssante.test>"

# Mon espace santé's MTA: a DSN that gives no ENVID back and says why only in its text.
MES_DSN = f"""From: MAILER-DAEMON@patient.mssante.fr
To: alice@operateur-a.mssante.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@patient.mssante.fr>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Votre message n'a pas pu etre remis : la messagerie de l'usager est fermee.
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.patient.mssante.fr

Final-Recipient: rfc822; {PATIENT}
Action: failed
Status: 5.2.1
Diagnostic-Code: smtp; 550 5.2.1 mailbox unavailable

--b
Content-Type: text/rfc822-headers

From: alice@operateur-a.mssante.test
To: {PATIENT}
Message-ID: {SENT_ID}
Subject: XDM/1.0/DDM+CR

--b--
""".encode()

# ... and a plain mail that is no DSN, the original attached.
MES_MAIL = f"""From: no-reply@patient.mssante.fr
To: alice@operateur-a.mssante.test
Subject: Message non distribue
Message-ID: <bounce-2@patient.mssante.fr>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

Le message ci-joint n'a pas ete distribue : patient non trouvé.
--b
Content-Type: message/rfc822

From: alice@operateur-a.mssante.test
To: {PATIENT}, karim@hopital-c.mssante.test
Message-ID: {SENT_ID}
Subject: Bonjour

Bonjour
--b--
""".encode()


@pytest.fixture
def outgoing(alice: User) -> Outgoing:
    return Outgoing.objects.create(
        mailbox=Mailbox.objects.get(owner=alice), author=alice, message_id=SENT_ID,
        envelope_from="alice@operateur-a.mssante.test",
        recipients=["***@patient.mssante.fr", "karim@hopital-c.mssante.test"],
    )  # fmt: skip


def collected(outgoing: Outgoing, raw: bytes) -> list[tuple[str, str, str]]:
    report = receipts.parse(raw)
    assert report is not None
    receipt_actions.record(outgoing.mailbox, report)
    return list(Receipt.objects.values_list("recipient", "action", "diagnostic"))


def test_it_matches_a_mon_espace_sante_dsn_by_the_original_s_message_id(
    outgoing: Outgoing,
) -> None:
    """RCPT (c): no ENVID back; the bounce text is in the human part (without accents)."""
    [(recipient, action, diagnostic)] = collected(outgoing, MES_DSN)
    assert (recipient, action) == ("***@patient.mssante.fr", "failed")
    assert diagnostic == "smtp; 550 5.2.1 mailbox unavailable (messagerie fermée)"
    assert "messagerie Mon espace santé de l&#x27;usager est fermée" in shown(Receipt.objects.get())


def test_it_reads_a_mon_espace_sante_bounce_that_is_no_dsn(outgoing: Outgoing) -> None:
    """RCPT (c): a plain mail with the original attached; only the patient address."""
    assert collected(outgoing, MES_MAIL) == [
        ("***@patient.mssante.fr", "failed", "patient non trouvé")
    ]
    assert "usager introuvable dans Mon espace santé" in shown(Receipt.objects.get())


@pytest.mark.parametrize(
    "forged",
    [
        MES_DSN.replace(b"MAILER-DAEMON@patient", PATIENT.split("@")[0].encode() + b"@patient"),
        MES_DSN.replace(b"MAILER-DAEMON@patient.mssante.fr", b"intrus@hopital-c.mssante.test"),
        MES_DSN.replace(PATIENT.encode(), b"karim@hopital-c.mssante.test"),
        MES_MAIL.replace(b"patient non trouv", b"bonne journ"),
    ],
    ids=["a-patient-writing", "another-domain", "a-professional-address", "no-bounce-text"],
)
def test_it_believes_mon_espace_sante_only_about_its_patients(
    outgoing: Outgoing, forged: bytes
) -> None:
    """RCPT (c): from the MES domain (not a patient's own address), about patient
    addresses the message was written to, saying one of the bounce texts."""
    report = receipts.parse(forged)
    if report is not None:
        receipt_actions.record(outgoing.mailbox, report)
    assert not Receipt.objects.exists()
