"""A CDA R2 document: its header (patient, author, dates), its level, its PDF (CONFORMANCE.md
CDA-R1/R2, XDM-R10/R11). The narrative's rendering is in `narrative.py`."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from lxml import etree

from documents import xml
from documents.errors import Refused

TEXT_NODE_LIMIT = 10 * 1024 * 1024  # libxml2's, with huge_tree=False (XDM-R5)
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class Patient:
    birth_name: str = ""  # family[@qualifier='BR'], else the first family name
    given: str = ""
    sex: str = ""  # M, F, U
    birth_date: str = ""  # AAAAMMJJ
    ids: tuple[tuple[str, str], ...] = ()  # (root OID, extension)


@dataclass(frozen=True)
class Person:
    name: str = ""
    profession: str = ""
    organisation: str = ""
    id: str = ""  # RPPS/ADELI-based national id (assignedAuthor/id@extension)
    family: str = ""
    given: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class Code:
    code: str = ""
    system: str = ""
    display: str = ""


def code_of(element: etree._Element | None) -> Code:
    return Code(xml.attr(element, "code"), xml.attr(element, "codeSystem"),
                xml.attr(element, "displayName"))  # fmt: skip


@dataclass(frozen=True)
class Header:
    title: str = ""
    code: str = ""
    code_display: str = ""
    effective_time: str = ""
    service_start: str = ""
    confidentiality: str = ""
    language: str = ""
    patient: Patient = field(default_factory=Patient)
    authors: tuple[Person, ...] = ()
    custodian: str = ""
    legal_authenticator: Person = field(default_factory=Person)
    recipients: tuple[Person, ...] = ()
    level: str = ""  # "N1" (nonXMLBody) or "N3" (structuredBody)
    facility_type: Code = field(default_factory=Code)  # XDS healthcareFacilityTypeCode
    practice_setting: Code = field(default_factory=Code)  # XDS practiceSettingCode
    templates: tuple[str, ...] = ()  # ClinicalDocument/templateId roots: its CI-SIS model


@dataclass(frozen=True)
class Document:
    header: Header
    root: etree._Element = field(repr=False, compare=False)


def parse(data: bytes) -> Document:
    """A CDA from bytes (XDM-R5); Refused when it is not XML or not a ClinicalDocument."""
    try:
        root = xml.parse(data).root
    except Refused as refused:
        if refused.code != "xml-syntax" or len(data) <= TEXT_NODE_LIMIT:
            raise
        root = xml.parse_huge(data)  # a big N1 PDF, after the unzip limits (XDM-R5)
    if xml.local(root.tag) != "ClinicalDocument":
        raise Refused("not-cda")
    return Document(header=header(root), root=root)


def person_name(element: etree._Element | None) -> str:
    if element is None:
        return ""
    given = xml.text(xml.child(element, "given"))
    family = xml.text(xml.child(element, "family"))
    prefix = xml.text(xml.child(element, "prefix"))
    return " ".join(p for p in (prefix, given, family) if p) or xml.text(element)


def _patient(root: etree._Element) -> Patient:
    role = xml.child(root, "recordTarget", "patientRole")
    patient = xml.child(role, "patient")
    name = xml.child(patient, "name")
    families = xml.children(name, "family") if name is not None else []
    birth = next((f for f in families if xml.attr(f, "qualifier") == "BR"), None)
    chosen = birth if birth is not None else (families[0] if families else None)
    ids = tuple(
        (xml.attr(i, "root"), xml.attr(i, "extension"))
        for i in (xml.children(role, "id") if role is not None else [])
    )
    return Patient(
        birth_name=xml.text(chosen).upper(),
        given=xml.text(xml.child(name, "given")),
        sex=xml.attr(xml.child(patient, "administrativeGenderCode"), "code"),
        birth_date=xml.attr(xml.child(patient, "birthTime"), "value")[:8],
        ids=ids,
    )


def _author(element: etree._Element) -> Person:
    assigned = xml.child(element, "assignedAuthor")
    code = xml.child(assigned, "code")
    name = xml.child(assigned, "assignedPerson", "name")
    return Person(
        name=person_name(name),
        id=xml.attr(xml.child(assigned, "id"), "extension"),
        family=xml.text(xml.child(name, "family")),
        given=xml.text(xml.child(name, "given")),
        prefix=xml.text(xml.child(name, "prefix")),
        profession=xml.attr(code, "displayName") or xml.attr(code, "code"),
        organisation=xml.text(xml.child(assigned, "representedOrganization", "name")),
    )


def _level(root: etree._Element) -> str:
    component = xml.child(root, "component")
    if xml.child(component, "nonXMLBody") is not None:
        return "N1"
    if xml.child(component, "structuredBody") is not None:
        return "N3"
    return ""


def header(root: etree._Element) -> Header:
    code = xml.child(root, "code")
    legal = xml.child(root, "legalAuthenticator", "assignedEntity")
    return Header(
        title=xml.text(xml.child(root, "title")),
        code=xml.attr(code, "code"),
        code_display=xml.attr(code, "displayName"),
        effective_time=xml.attr(xml.child(root, "effectiveTime"), "value"),
        service_start=xml.attr(
            xml.child(root, "documentationOf", "serviceEvent", "effectiveTime", "low"), "value"
        ),
        confidentiality=xml.attr(xml.child(root, "confidentialityCode"), "code"),
        language=xml.attr(xml.child(root, "languageCode"), "code"),
        patient=_patient(root),
        authors=tuple(_author(a) for a in xml.children(root, "author")),
        custodian=xml.text(
            xml.child(
                root, "custodian", "assignedCustodian", "representedCustodianOrganization", "name"
            )
        ),
        legal_authenticator=Person(
            name=person_name(xml.child(legal, "assignedPerson", "name")),
            id=xml.attr(xml.child(legal, "id"), "extension"),
            family=xml.text(xml.child(legal, "assignedPerson", "name", "family")),
            given=xml.text(xml.child(legal, "assignedPerson", "name", "given")),
            prefix=xml.text(xml.child(legal, "assignedPerson", "name", "prefix")),
            organisation=xml.text(xml.child(legal, "representedOrganization", "name")),
        ),
        recipients=tuple(
            Person(
                name=person_name(xml.child(r, "intendedRecipient", "informationRecipient", "name"))
            )
            for r in xml.children(root, "informationRecipient")
        ),
        level=_level(root),
        templates=tuple(xml.attr(t, "root") for t in xml.children(root, "templateId")),
        facility_type=code_of(
            xml.child(
                root,
                "componentOf",
                "encompassingEncounter",
                "location",
                "healthCareFacility",
                "code",
            )
        ),
        practice_setting=code_of(
            xml.child(
                root,
                "documentationOf",
                "serviceEvent",
                "performer",
                "assignedEntity",
                "representedOrganization",
                "standardIndustryClassCode",
            )
        ),
    )


@dataclass(frozen=True)
class Media:
    media_type: str
    payload: bytes


def _decoded(element: etree._Element | None) -> Media | None:
    if element is None:
        return None
    if xml.attr(element, "representation").upper() != "B64":
        return None
    try:
        payload = base64.b64decode("".join((element.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return Media(media_type=xml.attr(element, "mediaType").lower(), payload=payload)


def _head(element: etree._Element | None) -> Media | None:
    """The media type and first bytes only (enough for the magic bytes): the summary of a
    package must not decode megabytes of base64 it does not show."""
    if element is None or xml.attr(element, "representation").upper() != "B64":
        return None
    start = "".join((element.text or "")[:400].split())[:24]
    try:
        payload = base64.b64decode(start[: len(start) // 4 * 4])
    except (binascii.Error, ValueError):
        return None
    return Media(media_type=xml.attr(element, "mediaType").lower(), payload=payload)


def body_head(document: Document) -> Media | None:
    """An N1 body's type and first bytes (the summary's level, type, PDF check)."""
    return _head(xml.child(document.root, "component", "nonXMLBody", "text"))


def has_pdf(document: Document) -> bool:
    """Whether `pdf_of` would find a PDF, without decoding it (XDM-R11 summary)."""
    if document.header.level == "N1":
        media = body_head(document)
        return bool(media and media.media_type == "application/pdf" and is_pdf(media.payload))
    for element in document.root.iter():
        if xml.local(element.tag) == "observationMedia":
            media = _head(xml.child(element, "value"))
            if media and media.media_type == "application/pdf" and is_pdf(media.payload):
                return True
    return False


def body_media(document: Document) -> Media | None:
    """CDA-R1: the N1 body (nonXMLBody/text, base64)."""
    return _decoded(xml.child(document.root, "component", "nonXMLBody", "text"))


def pdf_copy(document: Document) -> bytes | None:
    """CDA-R2: the PDF copy an N3 carries (an observationMedia with a PDF), if any."""
    for element in document.root.iter():
        if xml.local(element.tag) != "observationMedia":
            continue
        media = _decoded(xml.child(element, "value"))
        if media and media.media_type == "application/pdf" and is_pdf(media.payload):
            return media.payload
    return None


def is_pdf(payload: bytes) -> bool:
    """The magic bytes, not the declared type (CDA-R1)."""
    return payload.startswith(PDF_MAGIC)


def pdf_of(document: Document) -> bytes | None:
    """The PDF to show for a document: an N1's body, or an N3's copy; None when neither."""
    if document.header.level == "N1":
        media = body_media(document)
        if media and media.media_type == "application/pdf" and is_pdf(media.payload):
            return media.payload
        return None
    return pdf_copy(document)
