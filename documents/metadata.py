"""METADATA.XML (an ebRIM SubmitObjectsRequest) read by local names (CONFORMANCE.md XDM-R6/R7).

Real files are imperfect (an undeclared `ns3:` prefix, un-namespaced children): we match
elements on their local names and read what is there; HL7 v2 CX/XCN values are split on
`^` and `&`, never evaluated, and shown raw when they do not parse.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from lxml import etree

from documents import xml
from documents.errors import Refused

DOCUMENT_ENTRY = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
DE_PATIENT = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_EVENT = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"


@dataclass(frozen=True)
class Coded:
    code: str = ""
    scheme: str = ""
    display: str = ""


@dataclass(frozen=True)
class Identifier:
    """A CX value `<id>^^^&<oid>&ISO^<type>`; `raw` when it does not split that way."""

    value: str = ""
    oid: str = ""
    raw: str = ""


@dataclass(frozen=True)
class Author:
    person: str = ""  # "Prénom NOM" from an XCN, or the raw value
    institution: str = ""
    role: str = ""
    specialty: str = ""


@dataclass(frozen=True)
class Entry:
    """One document entry (XDM-R7)."""

    id: str = ""
    uri: str = ""
    hash: str = ""
    size: int | None = None
    mime_type: str = ""
    title: str = ""
    patient: Identifier = field(default_factory=Identifier)
    patient_info: dict[str, str] = field(default_factory=dict)  # PID-5, PID-7, PID-8
    unique_id: str = ""
    type_code: Coded = field(default_factory=Coded)
    class_code: Coded = field(default_factory=Coded)
    format_code: Coded = field(default_factory=Coded)
    confidentiality: tuple[Coded, ...] = ()
    author: Author = field(default_factory=Author)
    legal_authenticator: str = ""
    creation_time: str = ""
    service_start: str = ""
    service_stop: str = ""
    language: str = ""


@dataclass(frozen=True)
class Submission:
    patient: Identifier = field(default_factory=Identifier)
    submission_time: str = ""
    author: Author = field(default_factory=Author)
    content_type: Coded = field(default_factory=Coded)
    source_id: str = ""
    unique_id: str = ""
    title: str = ""
    recipients: tuple[str, ...] = ()
    entries: tuple[Entry, ...] = ()
    conformant: bool = True  # False: namespace faults tolerated (XDM-R6)


def read(data: bytes) -> Submission:
    """The submission set and its document entries; Refused when the file is not XML or
    not a submission at all."""
    parsed = xml.parse(data, tolerate_namespaces=True)
    root = parsed.root
    if xml.local(root.tag) != "SubmitObjectsRequest":
        raise Refused("not-metadata")
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    by_name: dict[str, list[etree._Element]] = defaultdict(list)
    for element in elements:
        by_name[xml.local(element.tag)].append(element)
    packages = by_name["RegistryPackage"]
    if not packages and not by_name["ExtrinsicObject"]:
        raise Refused("not-metadata")
    classifications = _grouped(by_name["Classification"], "classifiedObject")
    identifiers = _grouped(by_name["ExternalIdentifier"], "registryObject")
    entries = tuple(
        _entry(obj, classifications, identifiers)
        for obj in by_name["ExtrinsicObject"]
        if xml.attr(obj, "objectType") in ("", DOCUMENT_ENTRY)
    )
    submission = _submission(packages, classifications, identifiers)
    return replace(submission, entries=entries, conformant=not parsed.recovered)


def _grouped(elements: list[etree._Element], owner: str) -> dict[str, list[etree._Element]]:
    """Classifications/identifiers by the object they describe (nested or by reference)."""
    found: dict[str, list[etree._Element]] = defaultdict(list)
    for element in elements:
        parent = element.getparent()
        target = xml.attr(element, owner) or (xml.attr(parent, "id") if parent is not None else "")
        found[target].append(element)
    return found


def slots(element: etree._Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for slot in xml.children(element, "Slot"):
        values = [
            xml.text(value)
            for value_list in xml.children(slot, "ValueList")
            for value in xml.children(value_list, "Value")
        ]
        found.setdefault(xml.attr(slot, "name"), []).extend(values)
    return found


def first(found: dict[str, list[str]], name: str) -> str:
    return next(iter(found.get(name) or []), "")


def name_of(element: etree._Element | None) -> str:
    localized = xml.child(element, "Name", "LocalizedString")
    return xml.attr(localized, "value")


def _coded(element: etree._Element) -> Coded:
    return Coded(
        code=xml.attr(element, "nodeRepresentation"),
        scheme=first(slots(element), "codingScheme"),
        display=name_of(element),
    )


def _scheme(elements: list[etree._Element], scheme: str) -> list[etree._Element]:
    return [e for e in elements if xml.attr(e, "classificationScheme").lower() == scheme]


def _identifier(elements: list[etree._Element], scheme: str) -> str:
    for element in elements:
        if xml.attr(element, "identificationScheme").lower() == scheme:
            return xml.attr(element, "value")
    return ""


def cx(value: str) -> Identifier:
    """HL7 v2 CX: `id^^^&oid&ISO^type`; only the id and the assigning authority's OID."""
    parts = value.split("^")
    if len(parts) < 4 or not parts[0]:
        return Identifier(raw=value)
    authority = parts[3].split("&")
    oid = authority[1] if len(authority) > 1 else authority[0]
    return Identifier(value=parts[0].strip(), oid=oid.strip(), raw=value)


def xcn(value: str) -> str:
    """HL7 v2 XCN `id^NOM^Prénom^…` -> "Prénom NOM"; the raw value when it does not split."""
    parts = value.split("^")
    if len(parts) < 3:
        return value
    prefix = parts[5] if len(parts) > 5 else ""
    return " ".join(p for p in (prefix, parts[2], parts[1]) if p).strip() or value


def xon(value: str) -> str:
    """HL7 v2 XON `Raison sociale^^^^^&oid&ISO^…` -> the name."""
    return value.split("^", 1)[0]


def _author(elements: list[etree._Element]) -> Author:
    if not elements:
        return Author()
    found = slots(elements[0])
    return Author(
        person=xcn(first(found, "authorPerson")),
        institution=xon(first(found, "authorInstitution")),
        role=_display(first(found, "authorRole")),
        specialty=_display(first(found, "authorSpecialty")),
    )


def _display(value: str) -> str:
    """A CE/CWE `code^label^scheme` -> the label (else the value)."""
    parts = value.split("^")
    return parts[1] if len(parts) > 1 and parts[1] else value


def patient_info(values: list[str]) -> dict[str, str]:
    """sourcePatientInfo `PID-5|NOM^Prénom^^^^^L`, `PID-7|AAAAMMJJ`, `PID-8|F`."""
    found: dict[str, str] = {}
    for value in values:
        key, _, rest = value.partition("|")
        found.setdefault(key.strip().upper(), rest.strip())
    return found


def _entry(
    obj: etree._Element,
    classifications: dict[str, list[etree._Element]],
    identifiers: dict[str, list[etree._Element]],
) -> Entry:
    own_id = xml.attr(obj, "id")
    found = slots(obj)
    mine = classifications.get(own_id, [])
    ids = identifiers.get(own_id, [])
    size = first(found, "size")
    return Entry(
        id=own_id,
        uri=first(found, "URI"),
        hash=first(found, "hash").lower(),
        size=int(size) if size.isdigit() else None,
        mime_type=xml.attr(obj, "mimeType"),
        title=name_of(obj),
        patient=cx(_identifier(ids, DE_PATIENT)),
        patient_info=patient_info(found.get("sourcePatientInfo", [])),
        unique_id=_identifier(ids, DE_UNIQUE),
        type_code=next(map(_coded, _scheme(mine, DE_TYPE)), Coded()),
        class_code=next(map(_coded, _scheme(mine, DE_CLASS)), Coded()),
        format_code=next(map(_coded, _scheme(mine, DE_FORMAT)), Coded()),
        confidentiality=tuple(map(_coded, _scheme(mine, DE_CONFIDENTIALITY))),
        author=_author(_scheme(mine, DE_AUTHOR)),
        legal_authenticator=xcn(first(found, "legalAuthenticator")),
        creation_time=first(found, "creationTime"),
        service_start=first(found, "serviceStartTime"),
        service_stop=first(found, "serviceStopTime"),
        language=first(found, "languageCode"),
    )


def _submission(
    packages: list[etree._Element],
    classifications: dict[str, list[etree._Element]],
    identifiers: dict[str, list[etree._Element]],
) -> Submission:
    if not packages:
        return Submission()
    package = packages[0]
    own_id = xml.attr(package, "id")
    found = slots(package)
    mine = classifications.get(own_id, [])
    ids = identifiers.get(own_id, [])
    return Submission(
        patient=cx(_identifier(ids, SS_PATIENT)),
        submission_time=first(found, "submissionTime"),
        author=_author(_scheme(mine, SS_AUTHOR)),
        content_type=next(map(_coded, _scheme(mine, SS_CONTENT_TYPE)), Coded()),
        source_id=_identifier(ids, SS_SOURCE),
        unique_id=_identifier(ids, SS_UNIQUE),
        title=name_of(package),
        recipients=tuple(v.rsplit("^", 1)[-1] for v in found.get("intendedRecipient", [])),
    )
