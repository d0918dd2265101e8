"""An IHE_XDM.ZIP built from CDA R2 documents (CONFORMANCE.md XDM-S2/S3): INDEX.HTM,
README.TXT, IHE_XDM/SUBSET01/METADATA.XML and DOC0001.XML..., deflated, ASCII 8.3 names.

The METADATA fields come from each CDA's header (the ANS mapping table); what we send reads
back through our own reader with integrity and patient checks passing."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from django.utils import timezone

from documents import cda, ins, metadata, terminology, xml

LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
SUBMISSION_SET_CLASS = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
IDNPS = "1.2.250.1.71.4.2.1"


@dataclass(frozen=True)
class Sender:
    """The sending professional (PSC SubjectNameID and names) and installation."""

    id: str
    family: str
    given: str
    source_id: str  # OID of this installation (a setting)
    institution: str = ""
    content_type: tuple[str, str, str] = ("07", "1.2.250.1.213.1.1.4.12", "Consultation externe")
    recipients: tuple[str, ...] = ()
    software: str = "Webmail MSSanté"
    when: datetime | None = None


@dataclass
class Built:
    data: bytes
    codes: list[str] = field(default_factory=list)  # X-MSS-CODECDA order (XDM-S6)


def slot(name: str, *values: str) -> str:
    items = "".join(f"<rim:Value>{escape(v)}</rim:Value>" for v in values)
    return f"<rim:Slot name={quoteattr(name)}><rim:ValueList>{items}</rim:ValueList></rim:Slot>"


def named(value: str) -> str:
    return f"<rim:Name><rim:LocalizedString value={quoteattr(value)}/></rim:Name>" if value else ""


def classification(
    number: str, scheme: str, owner: str, code: str, coding: str, display: str
) -> str:
    return (
        f"<rim:Classification id={quoteattr(number)} classificationScheme={quoteattr(scheme)} "
        f"classifiedObject={quoteattr(owner)} nodeRepresentation={quoteattr(code)}>"
        f"{slot('codingScheme', coding)}{named(display)}</rim:Classification>"
    )


def identifier(number: str, scheme: str, owner: str, value: str, label: str) -> str:
    return (
        f"<rim:ExternalIdentifier id={quoteattr(number)} identificationScheme={quoteattr(scheme)} "
        f"registryObject={quoteattr(owner)} value={quoteattr(value)}>{named(label)}"
        "</rim:ExternalIdentifier>"
    )


def patient_cx(patient: cda.Patient) -> str:
    pair = next(((e, r) for r, e in patient.ids if ins.is_ins(r) and e), None)
    if pair is None:
        pair = next(((e, r) for r, e in patient.ids if e), ("", ""))
    return f"{pair[0]}^^^&{pair[1]}&ISO^NH"


def xcn(person_id: str, family: str, given: str, prefix: str = "") -> str:
    return f"{person_id}^{family}^{given}^^^{prefix}^^^&{IDNPS}&ISO^D^^^IDNPS"


def person_xcn(person: cda.Person) -> str:
    return xcn(person.id, person.family, person.given, person.prefix)


def _entry(
    owner: str, number: int, head: cda.Header, payload: bytes, document: cda.Document
) -> str:
    """One XDSDocumentEntry; `owner` its entryUUID."""
    label = f"doc{number:02d}"  # its classifications' and identifiers' ids
    author = head.authors[0] if head.authors else cda.Person()
    patient = patient_cx(head.patient)
    root, extension = _doc_id(document)
    uid = f"{root}^{extension}" if extension else root
    # XDM-S3, the ANS mapping tables: classCode from the type (ASS_X04), formatCode from
    # the model (ASS_A11) or a level 1's media type (ASS_A12).
    kind = terminology.class_code(head.code)
    media = cda.body_head(document) if head.level == "N1" else None
    fmt = terminology.format_code(
        head.level, list(head.templates), media.media_type if media else ""
    )
    p = head.patient
    parts = [
        slot("creationTime", head.effective_time[:14]),
        slot("hash", hashlib.sha1(payload).hexdigest()),  # noqa: S324 - IHE mandates SHA-1
        slot("size", str(len(payload))),
        slot("languageCode", head.language or "fr-FR"),
        slot("URI", f"DOC{number:04d}.XML"),
        slot("sourcePatientId", patient),
        slot(
            "sourcePatientInfo",
            f"PID-5|{p.birth_name}^{p.given}^^^^^L",
            f"PID-7|{p.birth_date}",
            f"PID-8|{p.sex}",
        ),
    ]
    if head.service_start:
        parts.append(slot("serviceStartTime", head.service_start[:14]))
    if head.legal_authenticator.name:
        parts.append(slot("legalAuthenticator", person_xcn(head.legal_authenticator)))
    cls = classification
    parts += [
        named(head.title),
        f'<rim:Classification id="{label}-author" classificationScheme="{metadata.DE_AUTHOR}" '
        f'classifiedObject="{owner}" nodeRepresentation="">'
        f"{slot('authorPerson', person_xcn(author))}"
        f"{slot('authorInstitution', author.organisation) if author.organisation else ''}"
        f"{slot('authorSpecialty', f'^{author.profession}^') if author.profession else ''}"
        "</rim:Classification>",
        cls(f"{label}-class", metadata.DE_CLASS, owner, kind.code, kind.scheme, kind.display),
        cls(
            f"{label}-conf",
            metadata.DE_CONFIDENTIALITY,
            owner,
            head.confidentiality or "N",
            "2.16.840.1.113883.5.25",
            head.confidentiality or "N",
        ),
        cls(f"{label}-format", metadata.DE_FORMAT, owner, fmt.code, fmt.scheme, fmt.display),
        cls(
            f"{label}-facility",
            metadata.DE_FACILITY,
            owner,
            head.facility_type.code,
            head.facility_type.system,
            head.facility_type.display,
        ),
        cls(
            f"{label}-practice",
            metadata.DE_PRACTICE,
            owner,
            head.practice_setting.code,
            head.practice_setting.system,
            head.practice_setting.display,
        ),
        cls(
            f"{label}-type",
            metadata.DE_TYPE,
            owner,
            head.code,
            "2.16.840.1.113883.6.1",
            head.code_display,
        ),
        identifier(
            f"{label}-patient", metadata.DE_PATIENT, owner, patient, "XDSDocumentEntry.patientId"
        ),
        identifier(f"{label}-unique", metadata.DE_UNIQUE, owner, uid, "XDSDocumentEntry.uniqueId"),
    ]
    return (
        f'<rim:ExtrinsicObject id="{owner}" mimeType="text/xml" '
        f'objectType="{metadata.DOCUMENT_ENTRY}">{"".join(parts)}</rim:ExtrinsicObject>'
    )


def _doc_id(document: cda.Document) -> tuple[str, str]:
    element = xml.child(document.root, "id")
    return xml.attr(element, "root"), xml.attr(element, "extension")


def metadata_xml(sender: Sender, documents: list[tuple[bytes, cda.Document]], when: str) -> bytes:
    """XDM-S3: the SubmitObjectsRequest for `documents` (bytes and parse)."""
    first = documents[0][1].header
    owner = "SubmissionSet01"
    ct = sender.content_type
    author = slot("authorPerson", xcn(sender.id, sender.family, sender.given))
    if sender.institution:
        author += slot("authorInstitution", sender.institution)
    owners = [f"urn:uuid:{uuid.uuid4()}" for _ in documents]  # XDS entryUUIDs
    objects = [
        _entry(o, n, d.header, p, d)
        for o, (n, (p, d)) in zip(owners, enumerate(documents, start=1), strict=True)
    ]
    package = (
        f'<rim:RegistryPackage id="{owner}">'
        + slot("submissionTime", when)
        + (
            slot("intendedRecipient", *[f"^^Internet^{r}" for r in sender.recipients])
            if sender.recipients
            else ""
        )
        + named(first.title)
        + f'<rim:Classification id="ss-author" classificationScheme="{metadata.SS_AUTHOR}" '
        f'classifiedObject="{owner}" nodeRepresentation="">{author}</rim:Classification>'
        + classification("ss-content", metadata.SS_CONTENT_TYPE, owner, ct[0], ct[1], ct[2])
        + identifier(
            "ss-patient",
            metadata.SS_PATIENT,
            owner,
            patient_cx(first.patient),
            "XDSSubmissionSet.patientId",
        )
        + identifier(
            "ss-source", metadata.SS_SOURCE, owner, sender.source_id, "XDSSubmissionSet.sourceId"
        )
        + identifier(
            "ss-unique",
            metadata.SS_UNIQUE,
            owner,
            f"2.25.{uuid.uuid4().int}",
            "XDSSubmissionSet.uniqueId",
        )
        + "</rim:RegistryPackage>"
        + f'<rim:Classification id="ss-class" classifiedObject="{owner}" '
        f'classificationNode="{SUBMISSION_SET_CLASS}"/>'
    )
    associations = "".join(
        f'<rim:Association id="as{n:02d}" '
        'associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" '
        f'sourceObject="{owner}" targetObject="{target}">'
        f"{slot('SubmissionSetStatus', 'Original')}</rim:Association>"
        for n, target in enumerate(owners, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<lcm:SubmitObjectsRequest xmlns:lcm="{LCM}" '
        f'xmlns:rim="{RIM}"><rim:RegistryObjectList>{package}{"".join(objects)}{associations}'
        "</rim:RegistryObjectList></lcm:SubmitObjectsRequest>\n"
    ).encode()


def readme(sender: Sender) -> bytes:
    text = (
        f"Emetteur : {sender.given} {sender.family}\r\n"
        f"Structure : {sender.institution}\r\n"
        f"Logiciel : {sender.software}\r\n"
        "Contenu : IHE_XDM/SUBSET01/METADATA.XML et les documents CDA DOCnnnn.XML\r\n"
    )
    return text.encode("ascii", "replace")


INDEX = (
    b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>IHE XDM</title></head>'
    b'<body><p><a href="README.TXT">README.TXT</a></p></body></html>\r\n'
)


def build(documents: list[bytes], sender: Sender) -> Built:
    """The package for these CDA files (already checked by the caller: XDM-S1/S7)."""
    parsed = [(payload, cda.parse(payload)) for payload in documents]
    when = (sender.when or timezone.now()).strftime("%Y%m%d%H%M%S")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("INDEX.HTM", INDEX)
        archive.writestr("README.TXT", readme(sender))
        archive.writestr("IHE_XDM/SUBSET01/METADATA.XML", metadata_xml(sender, parsed, when))
        for number, payload in enumerate(documents, start=1):
            archive.writestr(f"IHE_XDM/SUBSET01/DOC{number:04d}.XML", payload)
    return Built(data=out.getvalue(), codes=[d.header.code for _, d in parsed])
