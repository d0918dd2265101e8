"""What the reader shows of a received message's health documents (CONFORMANCE.md XDM-R2,
XDM-R11, HDR-IN, PAT4): one summary per IHE XDM attachment, the X-MSS-* headers, whether
the sender is a patient. Never raises on a message's content: the message always opens."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from documents import ins, package, summaries
from mailboxes.mail import headers, mime
from mailboxes.models import Mailbox

Where = tuple[Mailbox, str, int]  # mailbox, folder, UID
MSS_HEADERS = ("X-MSS-CODECDA", "X-MSS-INS", "X-MSS-MES")
HEADER_LIMIT = 200  # HDR-IN: shown escaped and truncated
MAX_PACKAGES = 25  # summarised per message; the others stay plain attachments


@dataclass
class Found:
    """One XDM attachment of the message and its summary."""

    index: int  # the part's index (part URLs name it)
    filename: str
    summary: package.PackageSummary


@dataclass
class Documents:
    packages: list[Found] = field(default_factory=list)
    coherent: bool = True  # XDM-R10 across every package of the message
    headers: list[tuple[str, str]] = field(default_factory=list)
    from_patient: bool = False  # PAT4
    # CDA-R2: attachments that are the PDF rendering of a package's document (ECO.2.1.6
    # name), the same document and not another: their part indexes.
    companions: set[int] = field(default_factory=set)


def xdm_parts(parsed: mime.ParsedMessage) -> list[mime.Attachment]:
    """XDM-R1: attachments named like a package, whatever their declared type (the first
    MAX_PACKAGES: a hostile message may name a thousand parts IHE_XDM_n.ZIP)."""
    return [a for a in parsed.attachments if package.is_xdm(a.filename)][:MAX_PACKAGES]


def payload_of(parsed: mime.ParsedMessage, index: int) -> bytes:
    found = mime.part_at(parsed.msg, index)
    return found.payload if found is not None else b""


def of_message(parsed: mime.ParsedMessage, where: Where | None = None) -> Documents:
    """The message's packages summarised (from the cache when `where` names the message)."""
    found = [
        Found(a.index, a.filename, _summary(parsed, a.index, where)) for a in xdm_parts(parsed)
    ]
    identities = {tuple(i) for f in found for i in f.summary.identities}
    return Documents(
        companions=companions(parsed, found),
        packages=found,
        coherent=len(identities) <= 1 and all(f.summary.coherent for f in found),
        headers=mss_headers(parsed.msg),
        from_patient=from_patient(parsed.from_),
    )


def _summary(parsed: mime.ParsedMessage, index: int, where: Where | None) -> package.PackageSummary:
    payload = payload_of(parsed, index)
    if where is None:
        return summaries.summarise(payload)
    mailbox, folder, uid = where
    return summaries.summary_for(mailbox, folder, uid, index, payload)


def companion_names(summary: package.PackageSummary) -> set[str]:
    """The ECO.2.1.6 names of the PDFs the sender put beside the package, in a loose form."""
    patient = summary.patient
    if patient is None:
        return set()
    return {
        loose(f"{d.date[:8]}_{d.type_display}_{patient.birth_name}_{patient.given}")
        for d in summary.documents
        if d.has_pdf
    }


def loose(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def companions(parsed: mime.ParsedMessage, found: list[Found]) -> set[int]:
    """PDF attachments named after a package's document (a `_<n° dossier>` may follow)."""
    names = tuple({name for f in found for name in companion_names(f.summary)})
    if not names:
        return set()
    return {
        a.index
        for a in parsed.attachments
        if a.content_type == "application/pdf"
        and loose(a.filename.rsplit(".", 1)[0]).startswith(names)
    }


def mss_headers(msg: Message) -> list[tuple[str, str]]:
    """HDR-IN: the MSSanté headers present, truncated."""
    return [
        (name, mime.header(msg, name)[:HEADER_LIMIT])
        for name in MSS_HEADERS
        if mime.header(msg, name)
    ]


def from_patient(from_header: str) -> bool:
    """PAT4/XDM-R11: a message from Mon espace santé (`@patient.mssante.fr`)."""
    return ins.patient_address(headers.first_address(from_header))
