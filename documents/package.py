"""An IHE XDM package read into a summary: patient, documents, integrity (CONFORMANCE.md
XDM-R3 to R11). Nothing here raises on bad input: the summary says what went wrong, with a
reason code (errors.REASONS), so the message always opens."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from documents import cda, ins, metadata
from documents.errors import Refused
from documents.unzip import Archive, Limits

METADATA_NAME = re.compile(r"^IHE_XDM/[^/]+/METADATA\.XML$")  # XDM-R4, names upper-cased
MAX_SUBSETS = 10
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
XDM_FILENAME = re.compile(r"^IHE_XDM(\.|_).*ZIP$", re.IGNORECASE)  # XDM-R1
MASKED = {
    "MASQUE_PS": "masked-professionals",
    "INVISIBLE_PATIENT": "invisible-patient",
    "INVISIBLE_REP_LEGAUX": "invisible-guardians",
}


def is_xdm(filename: str) -> bool:
    """XDM-R1: the attachment's (decoded) name, whatever its declared type."""
    name = filename.strip()
    return name.upper() == "IHE_XDM.ZIP" or bool(XDM_FILENAME.match(name))


@dataclass
class PatientSummary:
    birth_name: str = ""
    given: str = ""
    sex: str = ""
    birth_date: str = ""
    ins: str = ""
    ins_oid: str = ""
    ins_in_document: bool = False  # a CDA carries an INS (recordTarget/patientRole/id)
    key_ok: bool | None = None  # None: not an INS-NIR, no key to check


@dataclass
class DocumentSummary:
    number: int  # 1-based, in package order: what the "Voir" links name
    status: str = "ok"  # "ok", or a reason code (missing, unreadable, not-cda, bad-uri...)
    title: str = ""
    type_code: str = ""
    type_display: str = ""
    date: str = ""  # HL7 TS (AAAAMMJJ[hhmmss])
    author: str = ""
    profession: str = ""
    structure: str = ""
    legal_authenticator: str = ""
    confidentiality: list[str] = field(default_factory=list)  # N, R, V
    masked: list[str] = field(default_factory=list)  # MetaDMPMSS flags (MASKED values)
    level: str = ""  # N1, N3
    integrity: str = "unverifiable"  # ok, mismatch, unverifiable (XDM-R9)
    has_pdf: bool = False
    media_type: str = ""  # an N1's body type
    identified: bool = True  # False: "document non identifié" (METADATA refused, XDM-R6)


@dataclass
class PackageSummary:
    error: str = ""  # the whole package was refused (a reason code)
    subsets: int = 0
    conformant: bool = True  # False: METADATA namespace faults tolerated (XDM-R6)
    notes: list[str] = field(default_factory=list)  # reason codes of refused subsets
    patient: PatientSummary | None = None
    coherent: bool = True  # one patient (XDM-R10)
    identities: list[list[str]] = field(default_factory=list)  # [INS, OID] seen, for R10
    documents: list[DocumentSummary] = field(default_factory=list)


@dataclass
class Located:
    """A document entry found in the package (not read yet)."""

    number: int
    entry: metadata.Entry
    key: str = ""  # the archive's name (upper case), "" when missing or refused
    status: str = "ok"
    identified: bool = True  # False: found beside a refused METADATA (XDM-R6)


def subsets(archive: Archive) -> list[str]:
    found = sorted(name for name in archive.names if METADATA_NAME.match(name))
    if not found:
        raise Refused("no-metadata")
    if len(found) > MAX_SUBSETS:
        raise Refused("too-many-subsets")
    return found


def resolve(archive: Archive, metadata_key: str, uri: str) -> str:
    """XDM-R8: relative to the METADATA's folder, then to IHE_XDM/; Refused on an escape."""
    if not uri or ".." in uri or uri.startswith("/") or "\\" in uri or SCHEME.match(uri):
        raise Refused("bad-uri")
    folder = metadata_key.rsplit("/", 1)[0]
    for candidate in (f"{folder}/{uri}", f"IHE_XDM/{uri}"):
        if candidate.upper() in archive.names:
            return candidate.upper()
    raise Refused("missing")


def located(
    archive: Archive, metadata_key: str, entries: tuple[metadata.Entry, ...], start: int
) -> list[Located]:
    found = []
    for offset, entry in enumerate(entries):
        try:
            found.append(Located(start + offset, entry, resolve(archive, metadata_key, entry.uri)))
        except Refused as refused:
            found.append(Located(start + offset, entry, status=refused.code))
    return found


HOSTILE = ("not-zip", "total-too-large", "ratio", "entry-too-large")  # the archive itself


def subset(
    archive: Archive, key: str
) -> tuple[metadata.Submission | None, tuple[metadata.Entry, ...], str]:
    """A subset's submission, its document entries and "" - or, its METADATA refused
    (XDM-R6), None, the subset's other XML files as unidentified documents, and the reason.
    Refused when the archive itself is hostile."""
    try:
        submission = metadata.read(archive.read(key, archive.limits.metadata_bytes))
    except Refused as refused:
        if refused.code in HOSTILE:
            raise
        return None, unidentified(archive, key), refused.code
    return submission, submission.entries, ""


def unidentified(archive: Archive, metadata_key: str) -> tuple[metadata.Entry, ...]:
    """XDM-R6: "document non identifié" - the XML files beside a refused METADATA."""
    folder = metadata_key.rsplit("/", 1)[0] + "/"
    names = sorted(
        name[len(folder) :]
        for name in archive.names
        if name.startswith(folder) and name != metadata_key and name.endswith(".XML")
    )
    return tuple(metadata.Entry(uri=name) for name in names if "/" not in name)


def read(data: bytes, limits: Limits | None = None) -> PackageSummary:
    """The summary of a package's bytes (the attachment's payload)."""
    summary = PackageSummary()
    try:
        archive = Archive(data, limits)
        keys = subsets(archive)
    except Refused as refused:
        return PackageSummary(error=refused.code)
    summary.subsets = len(keys)
    submissions: list[metadata.Submission] = []
    documents: list[tuple[Located, cda.Document | None]] = []
    for key in keys:
        try:
            submission, entries, note = subset(archive, key)
        except Refused as refused:
            return PackageSummary(error=refused.code)
        if submission is None:
            summary.notes.append(note)
        else:
            summary.conformant &= submission.conformant
            submissions.append(submission)
        for place in located(archive, key, entries, len(documents) + 1):
            place.identified = submission is not None
            try:
                documents.append((place, _document(archive, place, summary)))
            except Refused as refused:
                if refused.code in HOSTILE:
                    return PackageSummary(error=refused.code)
                raise
    summary.patient = _patient(submissions, [d for _, d in documents if d is not None])
    summary.identities = [list(i) for i in sorted(_identities(submissions, documents))]
    summary.coherent = len(summary.identities) <= 1
    return summary


def _document(archive: Archive, place: Located, summary: PackageSummary) -> cda.Document | None:
    """Read, check (XDM-R9) and parse one document; its row appended to `summary`."""
    row = _row(place)
    summary.documents.append(row)
    if place.status != "ok":
        row.status = place.status
        return None
    payload = archive.read(place.key)
    row.integrity = integrity(place.entry, payload)
    try:
        document = cda.parse(payload)
    except Refused as refused:
        row.status = "unreadable" if refused.code == "xml-syntax" else refused.code
        return None
    _fill(row, document)
    return document


def integrity(entry: metadata.Entry, payload: bytes) -> str:
    """XDM-R9: SHA-1 (case-insensitive) and size against the METADATA."""
    if not entry.hash and entry.size is None:
        return "unverifiable"
    if entry.hash and hashlib.sha1(payload).hexdigest() != entry.hash.lower():  # noqa: S324 - IHE's hash
        return "mismatch"
    if entry.size is not None and entry.size != len(payload):
        return "mismatch"
    return "ok"


def _row(place: Located) -> DocumentSummary:
    entry = place.entry
    codes = [c.code for c in entry.confidentiality]
    return DocumentSummary(
        number=place.number,
        identified=place.identified,
        title=entry.title,
        type_code=entry.type_code.code,
        type_display=entry.type_code.display,
        date=entry.service_start or entry.creation_time,
        author=entry.author.person,
        profession=entry.author.specialty or entry.author.role,
        structure=entry.author.institution,
        legal_authenticator=entry.legal_authenticator,
        confidentiality=[c for c in codes if c in ("N", "R", "V")],
        masked=[MASKED[c] for c in codes if c in MASKED],
    )


def _fill(row: DocumentSummary, document: cda.Document) -> None:
    """What the CDA itself says, where the METADATA was silent."""
    head = document.header
    author = head.authors[0] if head.authors else cda.Person()
    row.title = row.title or head.title
    row.type_code = row.type_code or head.code
    row.type_display = row.type_display or head.code_display
    row.date = row.date or head.service_start or head.effective_time
    row.author = row.author or author.name
    row.profession = row.profession or author.profession
    row.structure = row.structure or author.organisation or head.custodian
    row.legal_authenticator = row.legal_authenticator or head.legal_authenticator.name
    if not row.confidentiality and head.confidentiality:
        row.confidentiality = [head.confidentiality]
    row.level = head.level
    row.has_pdf = cda.has_pdf(document)
    if head.level == "N1":
        media = cda.body_head(document)
        row.media_type = media.media_type if media else ""


def _ins_of(patient: cda.Patient) -> tuple[str, str] | None:
    return next(((ext, root) for root, ext in patient.ids if ins.is_ins(root) and ext), None)


def _identities(
    submissions: list[metadata.Submission],
    documents: list[tuple[Located, cda.Document | None]],
) -> set[tuple[str, str]]:
    """XDM-R10: every patient identity the package names (INS or local id, with its OID)."""
    found: set[tuple[str, str]] = set()
    for submission in submissions:
        if submission.patient.value:
            found.add((submission.patient.value.upper(), submission.patient.oid))
        for entry in submission.entries:
            if entry.patient.value:
                found.add((entry.patient.value.upper(), entry.patient.oid))
    for _, document in documents:
        if document is not None and (pair := _ins_of(document.header.patient)):
            found.add((pair[0].upper(), pair[1]))
    return found


def _patient(
    submissions: list[metadata.Submission], documents: list[cda.Document]
) -> PatientSummary | None:
    if not submissions and not documents:
        return None
    summary = PatientSummary()
    from_cda = next((d.header.patient for d in documents), None)
    if from_cda is not None:
        summary.birth_name, summary.given = from_cda.birth_name, from_cda.given
        summary.sex, summary.birth_date = from_cda.sex, from_cda.birth_date
    elif submissions and submissions[0].entries:
        _from_source_info(summary, submissions[0].entries[0].patient_info)
    in_document = next((p for d in documents if (p := _ins_of(d.header.patient))), None)
    summary.ins_in_document = in_document is not None
    declared = submissions[0].patient if submissions else metadata.Identifier()
    if in_document:
        summary.ins, summary.ins_oid = in_document
    elif declared.value:
        summary.ins, summary.ins_oid = declared.value, declared.oid
    if summary.ins_oid in (ins.INS_NIR, ins.INS_NIR_TEST, ins.INS_NIR_DEMO):
        summary.key_ok = ins.key_ok(summary.ins)
    return summary


def _from_source_info(summary: PatientSummary, info: dict[str, str]) -> None:
    names = info.get("PID-5", "").split("^")
    summary.birth_name = names[0].upper()
    summary.given = names[1] if len(names) > 1 else ""
    summary.birth_date = info.get("PID-7", "")[:8]
    summary.sex = info.get("PID-8", "")


def open_document(
    data: bytes, number: int, limits: Limits | None = None
) -> tuple[bytes, cda.Document | None]:
    """The bytes of document `number` (as numbered in the summary) and its parse (None when
    it does not parse); Refused when the package or the document cannot be reached."""
    archive = Archive(data, limits)
    count = 0
    for key in subsets(archive):
        _, entries, _ = subset(archive, key)
        for place in located(archive, key, entries, count + 1):
            if place.number == number:
                if place.status != "ok":
                    raise Refused(place.status)
                payload = archive.read(place.key)
                try:
                    return payload, cda.parse(payload)
                except Refused:
                    return payload, None
        count += len(entries)
    raise Refused("missing")


def as_dict(summary: PackageSummary) -> dict[str, Any]:
    """The summary as JSON-ready data (the cache stores it)."""
    return asdict(summary)


def from_dict(data: dict[str, Any]) -> PackageSummary:
    """A summary back from `as_dict`; fields this version does not know are ignored."""
    known = {f.name for f in fields(PackageSummary)}
    values = {k: v for k, v in data.items() if k in known}
    patient = values.get("patient")
    values["patient"] = PatientSummary(**_known(PatientSummary, patient)) if patient else None
    values["documents"] = [
        DocumentSummary(**_known(DocumentSummary, d)) for d in values.get("documents", [])
    ]
    return PackageSummary(**values)


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in data.items() if k in names}
