"""CDA files attached to a message become an IHE XDM package (CONFORMANCE.md XDM-S1 to S7,
PAT1, PAT3), through the domain's before-queue hook (registered in DocumentsConfig.ready).

The draft's CDA attachments are replaced by IHE_XDM.ZIP and the PDF beside it (XDM-S4/S5);
X-MSS-CODECDA and X-MSS-INS are set and the subject generated from the CDA (XDM-S6). An
XML attachment that is no CDA R2 (XDM-S1), a message for two patients, a patient address
with a bad INS or for another patient, or too large for Mon espace santé is refused with a
French sentence."""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.utils.translation import gettext as _

from documents import building, cda, errors, ins, package
from documents.errors import Refused as NotCda
from documents.subject import PREFIX, display
from mailboxes import hooks
from mailboxes.actions.outbox import Draft
from mailboxes.models import Mailbox, User

PATIENT_LIMIT = 25 * 1024 * 1024  # PAT3: Mon espace santé's limit per message
SUBJECT_LABEL = 40  # XDM-S6: the libellé is cut to 40 characters
PDF_NAME_KEEP = re.compile(r"[^A-Za-z0-9À-ÿ'_-]")
PRODUCTION_INS = (ins.INS_NIR, ins.INS_NIA)
TEST_INS = (ins.INS_NIR_TEST, ins.INS_NIR_DEMO)
MARKERS = re.compile(r"^(?:(?:re|tr|fw|fwd|aw)\s*:\s*)+", re.IGNORECASE)
XML_TYPES = ("text/xml", "application/xml", "application/hl7-cda+xml")


def is_xml(name: str, content_type: str) -> bool:
    return name.lower().endswith(".xml") or content_type.lower() in XML_TYPES


def cda_of(name: str, content_type: str, data: bytes) -> cda.Document | None:
    """An XML attachment as the CDA R2 it must be (XDM-S1, parsed as XDM-R5); None for an
    attachment that is not XML. XML that is no CDA (another root, not well-formed, a
    DOCTYPE) is refused with the reason: it would otherwise leave as an ordinary attachment
    that no receiving system integrates."""
    if not is_xml(name, content_type):
        return None
    try:
        return cda.parse(data)
    except NotCda as refused:
        raise hooks.Refused(
            _(
                "The attached XML file %(name)s cannot be sent: %(reason)s Only CDA R2 "
                "documents are sent as XML files, in an IHE XDM package."
            )
            % {"name": name, "reason": errors.reason(refused.code)}
        ) from None


def patient_key(patient: cda.Patient) -> tuple[str, ...]:
    """XDM-S7: the INS, else the local id and the traits."""
    found = next(((r, e.upper()) for r, e in patient.ids if ins.is_ins(r) and e), None)
    if found:
        return found
    local = next(((r, e) for r, e in patient.ids if e), ("", ""))
    return (*local, patient.birth_name, patient.given, patient.birth_date, patient.sex)


def ins_header(documents: list[cda.Document]) -> str:
    """XDM-S6 X-MSS-INS: O iff every CDA carries an INS and the four traits."""
    allowed = PRODUCTION_INS + (TEST_INS if settings.DOCUMENTS_ACCEPT_TEST_INS else ())

    def complete(patient: cda.Patient) -> bool:
        has_ins = any(r in allowed and e for r, e in patient.ids)
        traits = patient.birth_name and patient.given and len(patient.birth_date) >= 8
        return bool(has_ins and traits and patient.sex in ("M", "F", "U"))

    return "O" if all(complete(d.header.patient) for d in documents) else "N"


def subject_for(documents: list[cda.Document]) -> str:
    """XDM-S6: `XDM/1.0/DDM+<libellé> <NOM> <prénom>[ <JJ/MM/AAAA>]`."""
    first = documents[0].header
    kinds = {d.header.code for d in documents}
    label = (first.code_display or first.title)[:SUBJECT_LABEL]
    if len(documents) > 1 and len(kinds) > 1:
        label = _("%(count)s documents") % {"count": len(documents)}
    patient = first.patient
    birth = patient.birth_date
    when = f" {birth[6:8]}/{birth[4:6]}/{birth[:4]}" if len(birth) >= 8 else ""
    return f"XDM/1.0/DDM+{label} {patient.birth_name} {patient.given}{when}"


def subject_hint(attachments: list[tuple[str, str, bytes]]) -> str:
    """What compose shows read-only (UX.28, XDM-S6): the subject the CDA attachments will
    give the message, without the prefix; "" when none is a CDA or an XML file will be
    refused (the refusal says why on sending)."""
    documents = []
    for name, content_type, data in attachments:
        try:
            document = cda_of(name, content_type, data)
        except hooks.Refused:
            return ""
        if document is not None:
            documents.append(document)
    return display(subject_for(documents)) if documents else ""


def forwarded_subject(subject: str) -> str:
    """XDM-S6: a forward carrying the original IHE_XDM.ZIP keeps `XDM/1.0/DDM+` as the
    first token, no `Tr:` in front, so receiving systems still detect it."""
    return PREFIX + MARKERS.sub("", display(subject), count=1)


def pdf_name(document: cda.Document) -> str:
    """ECO.2.1.6 `<AAAAMMJJ acte>_<type>_<NOM>_<prénom>.pdf`, spaces -> `_`."""
    head = document.header
    when = (head.service_start or head.effective_time)[:8]
    kind = head.code_display or head.title or head.code
    parts = [when, kind, head.patient.birth_name, head.patient.given]
    joined = "_".join(p for p in parts if p).replace(" ", "_")
    return PDF_NAME_KEEP.sub("", unicodedata.normalize("NFC", joined)) + ".pdf"


def closes_exchanges(subject: str) -> bool:
    """PAT2: Mon espace santé reads a subject of exactly `[FIN]` as the end of every
    previous exchange with the patient."""
    return subject.strip().upper() == "[FIN]"


def patient_recipients(draft: Draft) -> list[str]:
    return [a for a in [*draft.to, *draft.cc, *draft.bcc] if ins.patient_address(a)]


def check_patients(draft: Draft, documents: list[cda.Document]) -> None:
    """PAT1 (a valid INS as the address), XDM-S7 (the documents' patient), PAT3 (25 MB)."""
    patients = patient_recipients(draft)
    for address in patients:
        if not ins.key_ok(address.split("@", 1)[0]):
            raise hooks.Refused(
                _("%(address)s is not a valid patient address (INS).") % {"address": address}
            )
    keys = {patient_key(d.header.patient) for d in documents}
    if len(keys) > 1:
        raise hooks.Refused(
            _("The documents concern several patients: send one message per patient.")
        )
    if patients and documents:
        matricule = next(iter(keys))[1] if len(next(iter(keys))) == 2 else ""
        if any(a.split("@", 1)[0].upper() != matricule for a in patients):
            raise hooks.Refused(
                _("The patient address does not match the documents' patient (INS).")
            )
    if patients and sum(len(d) for _, _, d in draft.attachments) * 4 // 3 > PATIENT_LIMIT:
        raise hooks.Refused(_("A message to a patient may not exceed 25 MB."))


def author_of(author: User, mailbox: Mailbox, draft: Draft) -> building.Sender:
    return building.Sender(
        id=author.subject_name_id or "",
        family=author.last_name.upper(),
        given=author.first_name,
        source_id=settings.DOCUMENTS_SOURCE_OID,
        institution=mailbox.label if mailbox.kind != Mailbox.Kind.PERSONAL else "",
        recipients=tuple([*draft.to, *draft.cc]),
    )


def before_queue(author: User, mailbox: Mailbox, draft: Draft) -> None:
    """The hook: CDA attachments -> IHE_XDM.ZIP + PDF, headers, subject (XDM-S)."""
    kept, cdas = [], []
    for name, content_type, data in draft.attachments:
        document = cda_of(name, content_type, data)
        if document is None:
            kept.append((name, content_type, data))
        else:
            cdas.append((data, document))
    documents = [d for _, d in cdas]
    check_patients(draft, documents)
    if not patient_recipients(draft):  # PAT2: X-MSS-MES: FIN only to patients
        draft.headers = [(n, v) for n, v in draft.headers if n.upper() != "X-MSS-MES"]
    if any(not d.header.patient.ids for d in documents):
        raise hooks.Refused(_("A CDA document has no patient (recordTarget)."))
    if not cdas:
        if any(package.is_xdm(name) for name, _, _ in kept):
            draft.subject = forwarded_subject(draft.subject)
        return
    built = building.build([data for data, _ in cdas], author_of(author, mailbox, draft))
    pdfs = [(pdf_name(d), "application/pdf", p) for d in documents if (p := cda.pdf_of(d))]
    draft.attachments = [("IHE_XDM.ZIP", "application/zip", built.data), *pdfs, *kept]
    draft.headers += [
        ("X-MSS-CODECDA", ",".join(built.codes)),
        ("X-MSS-INS", ins_header(documents)),
    ]
    draft.subject = subject_for(documents)
