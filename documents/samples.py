"""Synthetic CDA R2 documents for the tests and the demo (CONFORMANCE.md TST): the structure
of the public ANS examples, fictitious patients, the INS *test* OID. Never real documents."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from documents import ins

HL7 = "urn:hl7-org:v3"


@dataclass(frozen=True)
class FakePatient:
    birth_name: str = "LEGRAND"
    used_name: str = "MARTIN"
    given: str = "Camille"
    sex: str = "F"
    birth_date: str = "19750312"
    matricule: str = ins.with_key("2750375123456")
    oid: str = ins.INS_NIR_TEST


CAMILLE = FakePatient()
PAUL = FakePatient("ROBERT", "ROBERT", "Paul", "M", "19620704", ins.with_key("1620775987654"))


def pdf(text: str = "Compte rendu", padding: int = 0) -> bytes:
    """A small valid one-page PDF saying `text` (plus `padding` bytes of comment)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    if padding:
        out += b"%" + b"x" * padding + b"\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


GENERIC_MODEL = '<templateId root="1.2.250.1.213.1.1.1.1"/>'  # CI-SIS generic CDA model


def _header(patient: FakePatient, code: str, display: str, title: str, when: str) -> str:
    return f"""<realmCode code="FR"/>
<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
<templateId root="1.2.250.1.213.1.1.1.1"/>
<id root="1.2.250.1.999.1.{when}" extension="{code}-{when}"/>
<code code={quoteattr(code)} codeSystem="2.16.840.1.113883.6.1" displayName={quoteattr(display)}/>
<title>{escape(title)}</title>
<effectiveTime value="{when}+0100"/>
<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
<languageCode code="fr-FR"/>
<recordTarget><patientRole>
<id root="{patient.oid}" extension="{patient.matricule}"/>
<id root="1.2.250.1.999.2" extension="IPP-42"/>
<patient>
<name><given>{escape(patient.given)}</given><family qualifier="BR">{escape(patient.birth_name)}</family><family qualifier="SP">{escape(patient.used_name)}</family></name>
<administrativeGenderCode code="{patient.sex}" codeSystem="2.16.840.1.113883.5.1"/>
<birthTime value="{patient.birth_date}"/>
</patient></patientRole></recordTarget>
<author><time value="{when}+0100"/><assignedAuthor>
<id root="1.2.250.1.71.4.2.1" extension="810001234567"/>
<code code="G15_10/SM44" displayName="Médecin - Radiologie" codeSystem="1.2.250.1.71.1.2.7"/>
<assignedPerson><name><prefix>Dr</prefix><given>Hélène</given><family>FICTIF</family></name></assignedPerson>
<representedOrganization><id root="1.2.250.1.71.4.2.2" extension="1999999999"/><name>Centre hospitalier de démonstration</name></representedOrganization>
</assignedAuthor></author>
<custodian><assignedCustodian><representedCustodianOrganization><id root="1.2.250.1.71.4.2.2" extension="1999999999"/><name>Centre hospitalier de démonstration</name></representedCustodianOrganization></assignedCustodian></custodian>
<legalAuthenticator><time value="{when}+0100"/><signatureCode code="S"/><assignedEntity><id root="1.2.250.1.71.4.2.1" extension="810001234567"/><assignedPerson><name><prefix>Dr</prefix><given>Hélène</given><family>FICTIF</family></name></assignedPerson></assignedEntity></legalAuthenticator>
<documentationOf><serviceEvent><effectiveTime><low value="{when[:8]}"/></effectiveTime>
<performer typeCode="PRF"><assignedEntity><id root="1.2.250.1.71.4.2.1" extension="810001234567"/><representedOrganization><standardIndustryClassCode code="ETABLISSEMENT" displayName="Etablissement de santé" codeSystem="1.2.250.1.213.1.1.4.9"/></representedOrganization></assignedEntity></performer>
</serviceEvent></documentationOf>
<componentOf><encompassingEncounter><effectiveTime value="{when[:8]}"/><location><healthCareFacility><code code="SA01" displayName="Centre Hospitalier (CH)" codeSystem="1.2.250.1.71.4.2.4"/></healthCareFacility></location></encompassingEncounter></componentOf>
"""


def _wrap(inner: str, stylesheet: str = "") -> bytes:
    pi = f'<?xml-stylesheet type="text/xsl" href={quoteattr(stylesheet)}?>\n' if stylesheet else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{pi}<ClinicalDocument xmlns="{HL7}" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n{inner}</ClinicalDocument>\n'
    ).encode()


def level1(
    patient: FakePatient = CAMILLE,
    *,
    payload: bytes | None = None,
    media_type: str = "application/pdf",
    code: str = "18748-4",
    display: str = "CR d'imagerie médicale",
    title: str = "Compte rendu d'imagerie",
    when: str = "20261120101500",
) -> bytes:
    """A CDA N1: a base64 PDF (or `payload`) in nonXMLBody (CDA-R1)."""
    body = base64.b64encode(payload if payload is not None else pdf(title)).decode()
    lines = "\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    return _wrap(
        _header(patient, code, display, title, when)
        + f'<component><nonXMLBody><text mediaType="{media_type}" representation="B64">'
        f"{lines}</text></nonXMLBody></component>\n"
    )


LAB_NARRATIVE = """<table border="1"><thead><tr><th>Examen</th><th>Résultat</th><th>Unité</th><th>Valeurs de référence</th></tr></thead>
<tbody><tr><td>Hémoglobine</td><td><content styleCode="Bold">13,2</content></td><td>g/dL</td><td>12,0 - 16,0</td></tr>
<tr><td>Leucocytes</td><td>6,4</td><td>G/L</td><td>4,0 - 10,0</td></tr></tbody></table>
<paragraph>Conclusion : <content styleCode="Italics">bilan normal</content>.</paragraph>"""


def level3(
    patient: FakePatient = CAMILLE,
    *,
    narrative: str = LAB_NARRATIVE,
    with_pdf: bool = False,
    code: str = "11502-2",
    display: str = "CR d'examens biologiques",
    title: str = "Compte rendu d'examens biologiques",
    when: str = "20261121083000",
    stylesheet: str = "",
    extra_sections: int = 0,
    model: str = "",
) -> bytes:
    """A CDA N3 with a narrative section (and its PDF copy, CDA-R2, when `with_pdf`);
    `model` a CI-SIS model's templateId (CR-BIO: 1.2.250.1.213.1.1.1.55)."""
    sections = [f"<section><title>Résultats</title><text>{narrative}</text></section>"]
    sections += [
        f"<section><title>Section {n}</title><text>{LAB_NARRATIVE}</text></section>"
        for n in range(extra_sections)
    ]
    if with_pdf:
        copy = base64.b64encode(pdf(title)).decode()
        sections.append(
            '<section><templateId root="1.3.6.1.4.1.19376.1.3.10.3.1"/><title>Document PDF copie</title>'
            '<text><renderMultiMedia referencedObject="OBS-PDF"/></text>'
            '<entry><observationMedia classCode="OBS" moodCode="EVN" ID="OBS-PDF">'
            f'<value mediaType="application/pdf" representation="B64">{copy}</value>'
            "</observationMedia></entry></section>"
        )
    components = "".join(f"<component>{s}</component>" for s in sections)
    head = _header(patient, code, display, title, when)
    if model:
        head = head.replace(GENERIC_MODEL, f'{GENERIC_MODEL}\n<templateId root="{model}"/>', 1)
    return _wrap(
        head + f"<component><structuredBody>{components}</structuredBody></component>\n",
        stylesheet,
    )
