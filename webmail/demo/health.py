"""The demo's health documents (issue 12): synthetic CDA in IHE XDM packages, fictitious
patients, the INS test OID (documents.samples). Never real documents."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from documents import building, cda, samples, sending

SENDERS = {
    "hopital-c.mssante.test": building.Sender(
        id="810107654321", family="BENALI", given="Karim", source_id="1.2.250.1.999.1.2",
        institution="Centre hospitalier de C",
    ),
}  # fmt: skip
DEFAULT_SENDER = SENDERS["hopital-c.mssante.test"]
DISCHARGE = (
    "<paragraph>Patient hospitalisé du 14 au 18 novembre 2026 pour décompensation cardiaque."
    "</paragraph><list><item>Furosémide 40 mg le matin</item><item>Bisoprolol 2,5 mg le soir"
    "</item></list><paragraph>Consultation de contrôle dans un mois.</paragraph>"
)
PACKAGES: dict[str, Callable[[], list[bytes]]] = {
    "imaging": lambda: [samples.level1()],
    "lab-pdf": lambda: [samples.level3(with_pdf=True)],
    "lab": lambda: [samples.level3(samples.PAUL, when="20261125090000")],
    "discharge": lambda: [
        samples.level3(
            samples.PAUL,
            narrative=DISCHARGE,
            code="11490-0",
            display="Lettre de liaison à la sortie",
            title="Lettre de liaison à la sortie d'hospitalisation",
            when="20261118160000",
        )
    ],
    "two": lambda: [samples.level1(), samples.level3(when="20261122110000")],
}


def attach(msg: EmailMessage, key: str) -> None:
    """IHE_XDM.ZIP, the PDFs beside it (XDM-S4/S5) and the X-MSS headers, as another
    MSSanté system would send them."""
    documents = PACKAGES[key]()
    built = building.build(documents, DEFAULT_SENDER)
    msg.add_attachment(built.data, maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    for document in map(cda.parse, documents):
        if (pdf := cda.pdf_of(document)) is not None:
            name = sending.pdf_name(document)
            msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    msg["X-MSS-CODECDA"] = ",".join(built.codes)
    msg["X-MSS-INS"] = "O"
