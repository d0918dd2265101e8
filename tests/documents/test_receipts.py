"""Integration results in read reports and Mon espace santé bounces (CONFORMANCE.md RCPT a
and c, TST 8), shown in French on the sent message."""

from __future__ import annotations

from django.template import Context, Template
from django.utils import translation

from mailboxes.mail import receipts
from mailboxes.models import Receipt

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
