"""CDA files attached to a message leave as a conformant IHE XDM package (CONFORMANCE.md
XDM-S1 to S7, PAT1, PAT3, TST 4): built by the before-queue hook, read back by our reader."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pytest_django import Settings

from documents import ins, package, samples, sending
from mailboxes import hooks
from mailboxes.actions.outbox import Draft, build
from mailboxes.models import Mailbox, User

COLLEAGUE = "karim.benali@hopital-c.mssante.test"


@pytest.fixture
def author(alice: User) -> User:
    alice.first_name, alice.last_name = "Alice", "Martin"
    alice.save()
    return alice


def sent(author: User, draft: Draft) -> Draft:
    mailbox = Mailbox.objects.get(owner=author)
    for hook in hooks.before_queue:
        hook(author, mailbox, draft)
    return draft


def cda_draft(*documents: bytes, to: str = COLLEAGUE) -> Draft:
    files = [(f"cr{n}.xml", "text/xml", d) for n, d in enumerate(documents)]
    return Draft(to=[to], subject="à remplacer", text="Bonjour", attachments=files)


def test_it_builds_the_package_the_pdf_headers_and_subject(
    author: User, settings: Settings
) -> None:
    """XDM-S2, S4, S5, S6, and the round trip through our own reader (XDM-S3)."""
    settings.DOCUMENTS_ACCEPT_TEST_INS = True
    draft = sent(author, cda_draft(samples.level1(), samples.level3(with_pdf=True)))
    names = [name for name, _, _ in draft.attachments]
    assert names == [
        "IHE_XDM.ZIP",
        "20261120_CR_d'imagerie_médicale_LEGRAND_Camille.pdf",
        "20261121_CR_d'examens_biologiques_LEGRAND_Camille.pdf",
    ]
    data = draft.attachments[0][2]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [
            "INDEX.HTM", "README.TXT", "IHE_XDM/SUBSET01/METADATA.XML",
            "IHE_XDM/SUBSET01/DOC0001.XML", "IHE_XDM/SUBSET01/DOC0002.XML",
        ]  # fmt: skip
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
        assert archive.read("IHE_XDM/SUBSET01/DOC0001.XML") == samples.level1()
    summary = package.read(data)
    assert summary.error == "" and summary.coherent and summary.conformant
    assert [(d.integrity, d.status) for d in summary.documents] == [("ok", "ok")] * 2
    assert summary.patient is not None and summary.patient.ins == samples.CAMILLE.matricule
    assert dict(draft.headers) == {"X-MSS-CODECDA": "18748-4,11502-2", "X-MSS-INS": "O"}
    assert draft.subject == "XDM/1.0/DDM+2 documents LEGRAND Camille 12/03/1975"
    message = build(author, Mailbox.objects.get(owner=author), draft)
    assert message["X-MSS-CODECDA"] == "18748-4,11502-2"
    parts = [p.get_content_type() for p in message.iter_attachments()]
    assert parts == ["application/zip", "application/pdf", "application/pdf"]


def test_it_cuts_the_label_at_40_and_says_n_for_test_ins_in_production(author: User) -> None:
    """XDM-S6: the test OID does not make an `O` outside tests and the demo."""
    long = samples.level1(display="Compte rendu d'imagerie médicale très détaillé et long")
    draft = sent(author, cda_draft(long))
    assert draft.subject == (
        "XDM/1.0/DDM+Compte rendu d'imagerie médicale très dé LEGRAND Camille 12/03/1975"
    )
    assert dict(draft.headers)["X-MSS-INS"] == "N"


def test_it_leaves_a_message_without_cda_alone(author: User) -> None:
    draft = Draft(to=[COLLEAGUE], subject="Bonjour", attachments=[("a.txt", "text/plain", b"a")])
    sent(author, draft)
    assert draft.subject == "Bonjour" and draft.headers == []
    assert [n for n, _, _ in draft.attachments] == ["a.txt"]


@pytest.mark.parametrize(
    ("name", "content_type", "data", "reason"),
    [
        ("facture.xml", "text/xml", b"<Invoice/>", "n'est pas un document CDA R2"),
        ("export.dat", "application/xml", b"<a>", "pas un XML bien formé"),
        ("cr.XML", "application/octet-stream", b'<!DOCTYPE a [<!ENTITY x "y">]><a/>', "DOCTYPE"),
    ],
)
def test_it_refuses_xml_that_is_not_a_cda(
    author: User, name: str, content_type: str, data: bytes, reason: str
) -> None:
    """XDM-S1: XML that is no CDA R2 is refused with the reason, not sent as an ordinary
    attachment (by its name .xml or an XML type)."""
    draft = Draft(to=[COLLEAGUE], subject="x", attachments=[(name, content_type, data)])
    with pytest.raises(hooks.Refused, match=reason) as refused:
        sent(author, draft)
    assert f"Le fichier XML joint {name} ne peut pas être envoyé" in str(refused.value)


def test_it_refuses_documents_about_two_patients(author: User) -> None:
    """XDM-S7."""
    with pytest.raises(hooks.Refused, match="plusieurs patients"):
        sent(author, cda_draft(samples.level1(), samples.level1(samples.PAUL)))


def test_it_checks_patient_addresses(author: User) -> None:
    """PAT1 (a valid INS key) and XDM-S7 (the documents' patient)."""
    bad = f"{samples.CAMILLE.matricule[:-2]}00@patient.mssante.fr"
    with pytest.raises(hooks.Refused, match="adresse patient valide"):
        sent(author, Draft(to=[bad], subject="x"))
    paul = f"{samples.PAUL.matricule}@patient.mssante.fr"
    with pytest.raises(hooks.Refused, match="ne correspond pas"):
        sent(author, cda_draft(samples.level1(), to=paul))
    camille = f"{samples.CAMILLE.matricule}@patient.mssante.fr"
    assert sent(author, cda_draft(samples.level1(), to=camille)).attachments[0][0] == "IHE_XDM.ZIP"


def test_it_refuses_more_than_25_mb_to_a_patient(author: User) -> None:
    """PAT3."""
    camille = f"{ins.with_key('2750375123456')}@patient.mssante.fr"
    draft = Draft(to=[camille], attachments=[("x.pdf", "application/pdf", b"x" * 20_000_000)])
    with pytest.raises(hooks.Refused, match="25"):
        sent(author, draft)


def test_it_refuses_a_cda_without_patient(author: User) -> None:
    """XDM-S1."""
    raw = samples.level1().replace(b"<recordTarget>", b"<x>").replace(b"</recordTarget>", b"</x>")
    with pytest.raises(hooks.Refused, match="patient"):
        sent(author, cda_draft(raw))


def test_it_names_the_pdf_as_eco_2_1_6_says() -> None:
    from documents import cda

    name = sending.pdf_name(cda.parse(samples.level1()))
    assert name == "20261120_CR_d'imagerie_médicale_LEGRAND_Camille.pdf"


def test_it_keeps_x_mss_mes_fin_only_for_patients(author: User) -> None:
    """PAT2: "l'usager ne pourra pas répondre" only means something to a patient."""
    fin = [("X-MSS-MES", "FIN")]
    professional = sent(author, Draft(to=[COLLEAGUE], subject="x", headers=list(fin)))
    assert professional.headers == []
    camille = f"{samples.CAMILLE.matricule}@patient.mssante.fr"
    patient = sent(author, Draft(to=[camille], subject="x", headers=list(fin)))
    assert patient.headers == fin


def test_it_keeps_the_prefix_first_on_a_forward_carrying_the_package(author: User) -> None:
    """XDM-S6: the compose field showed "Tr: CR …"; the package goes, so the prefix too."""
    carried = ("IHE_XDM.ZIP", "application/zip", b"PK")
    draft = sent(author, Draft(to=[COLLEAGUE], subject="Tr: CR biologie", attachments=[carried]))
    assert draft.subject == "XDM/1.0/DDM+CR biologie"
    plain = sent(author, Draft(to=[COLLEAGUE], subject="Tr: CR biologie"))
    assert plain.subject == "Tr: CR biologie"


def test_the_metadata_has_every_required_field_of_xdm_s3(author: User) -> None:
    """XDM-S3: submission set and document entry, required fields."""
    from documents import metadata, xml

    draft = sent(author, cda_draft(samples.level3(with_pdf=True)))
    with zipfile.ZipFile(io.BytesIO(draft.attachments[0][2])) as archive:
        root = xml.parse(archive.read("IHE_XDM/SUBSET01/METADATA.XML")).root
    [package_element] = [e for e in root.iter() if xml.local(e.tag) == "RegistryPackage"]
    [entry] = [e for e in root.iter() if xml.local(e.tag) == "ExtrinsicObject"]
    assert entry.get("id", "").startswith("urn:uuid:") and entry.get("mimeType") == "text/xml"
    slots = set(metadata.slots(entry))
    assert {"creationTime", "hash", "size", "languageCode", "URI", "sourcePatientId",
            "legalAuthenticator", "serviceStartTime"} <= slots  # fmt: skip
    schemes = {
        c.get("classificationScheme")
        for c in root.iter()
        if xml.local(c.tag) == "Classification" and c.get("classifiedObject") == entry.get("id")
    }
    assert {metadata.DE_AUTHOR, metadata.DE_CLASS, metadata.DE_CONFIDENTIALITY, metadata.DE_FORMAT,
            metadata.DE_FACILITY, metadata.DE_PRACTICE, metadata.DE_TYPE} <= schemes  # fmt: skip
    identifiers = {e.get("identificationScheme") for e in root.iter()
                   if xml.local(e.tag) == "ExternalIdentifier"}  # fmt: skip
    assert {metadata.DE_PATIENT, metadata.DE_UNIQUE, metadata.SS_PATIENT, metadata.SS_SOURCE,
            metadata.SS_UNIQUE} <= identifiers  # fmt: skip
    assert {"submissionTime", "intendedRecipient"} <= set(metadata.slots(package_element))
    assert metadata.name_of(entry) == "Compte rendu d'examens biologiques"
    read = package.read(draft.attachments[0][2])
    [document] = read.documents
    assert document.integrity == "ok" and read.coherent


def entry_codes(draft: Draft) -> list[tuple[str, str, str, str]]:
    """(classCode, its scheme, formatCode, its scheme) of each document entry we sent."""
    from documents import metadata

    with zipfile.ZipFile(io.BytesIO(draft.attachments[0][2])) as archive:
        read = metadata.read(archive.read("IHE_XDM/SUBSET01/METADATA.XML"))
    return [
        (e.class_code.code, e.class_code.scheme, e.format_code.code, e.format_code.scheme)
        for e in read.entries
    ]


def test_the_class_and_format_codes_come_from_the_ans_tables(author: User) -> None:
    """XDM-S3: classCode by the document type (ASS_X04), formatCode of a level 3 by its
    CI-SIS model (ASS_A11), of a level 1 by its body's media type (ASS_A12)."""
    lab = samples.level3(model="1.2.250.1.213.1.1.1.55")  # CR-BIO
    imaging = samples.level1()  # 18748-4, a PDF
    kos = samples.level3(
        code="IMG-KOS", display="Référence d'objets", model="1.2.250.1.213.1.1.1.45"
    )
    assert entry_codes(sent(author, cda_draft(lab, imaging, kos))) == [
        ("10", "1.2.250.1.213.1.1.4.1", "urn:ihe:lab:xd-lab:2008", "1.3.6.1.4.1.19376.1.2.3"),
        ("10", "1.2.250.1.213.1.1.4.1", "urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3"),
        ("31", "1.2.250.1.213.1.1.4.1",
         "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013", "1.3.6.1.4.1.19376.1.2.3"),
    ]  # fmt: skip


def test_an_unknown_type_or_model_falls_back_to_a_report_in_the_generic_format(
    author: User,
) -> None:
    """XDM-S3 fallbacks (documents.terminology): classCode 10 "Compte rendu", the CI-SIS
    generic structured-body format; a level 1 RTF by its media type."""
    other = samples.level3(code="99999-9", model="1.2.250.1.213.1.1.1.999")
    rtf = samples.level1(payload=b"{\\rtf1 x}", media_type="text/rtf")
    assert entry_codes(sent(author, cda_draft(other, rtf))) == [
        ("10", "1.2.250.1.213.1.1.4.1", "urn:asip:ci-sis:2010", "1.2.250.1.213.1.1.4.2.282"),
        (
            "10",
            "1.2.250.1.213.1.1.4.1",
            "urn:ihe:iti-fr:xds-sd:rtf:2010",
            "1.3.6.1.4.1.19376.1.2.3",
        ),
    ]


def test_the_compose_hint_is_the_subject_without_its_prefix() -> None:
    """XDM-S6/UX.28: shown read-only in compose; nothing without CDA or with refused XML."""
    cda_file = ("cr.xml", "text/xml", samples.level1())
    assert sending.subject_hint([("a.txt", "text/plain", b"a"), cda_file]) == (
        "CR d'imagerie médicale LEGRAND Camille 12/03/1975"
    )
    assert sending.subject_hint([("a.txt", "text/plain", b"a")]) == ""
    assert sending.subject_hint([cda_file, ("f.xml", "text/xml", b"<Invoice/>")]) == ""


def ass_x04(
    rows: dict[str, tuple[str, str]], target: str = "TRE_A03-ClasseDocument"
) -> dict[str, Any]:
    """A ConceptMap shaped as the ANS publishes ASS_X04 (FHIR R4), made here."""
    return {
        "resourceType": "ConceptMap",
        "id": "ASS-X04-CorrespondanceType-Classe-CISIS",
        "status": "active",
        "group": [
            {
                "source": "https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc",
                "target": f"https://mos.esante.gouv.fr/NOS/{target}/FHIR/{target}",
                "element": [
                    {
                        "code": code,
                        "target": [{"code": c, "display": d, "equivalence": "equivalent"}],
                    }
                    for code, (c, d) in rows.items()
                ],
            }
        ],
    }


def test_the_ans_published_class_table_takes_precedence_over_the_subset(
    author: User, tmp_path: Path, settings: Settings
) -> None:
    """XDM-S3/ASS_X04: with the ANS's ConceptMap configured, its rows decide the classCode;
    the built-in subset still answers for a type the file does not list."""
    table = tmp_path / "ASS_X04.json"
    table.write_text(json.dumps(ass_x04({"11502-2": ("13", "Résultat d'examen")})))
    settings.DOCUMENTS_CLASS_CODE_MAP = str(table)
    lab = samples.level3(model="1.2.250.1.213.1.1.1.55")  # 11502-2
    kos = samples.level3(code="IMG-KOS", display="Référence", model="1.2.250.1.213.1.1.1.45")
    codes = [(c, s) for c, s, _, _ in entry_codes(sent(author, cda_draft(lab, kos)))]
    assert codes == [("13", "1.2.250.1.213.1.1.4.1"), ("31", "1.2.250.1.213.1.1.4.1")]


@pytest.mark.parametrize(
    "content, reason",
    [
        ("not json", "not JSON"),
        (json.dumps({"resourceType": "ValueSet"}), "not a FHIR ConceptMap"),
        (json.dumps(ass_x04({"11502-2": ("10", "CR")}, target="TRE_R38-X")), "not TRE_A03"),
        (json.dumps(ass_x04({})), "no correspondence"),
    ],
)
def test_a_class_table_that_is_not_ass_x04_stops_the_start(
    tmp_path: Path, settings: Settings, content: str, reason: str
) -> None:
    from django.core import checks

    table = tmp_path / "table.json"
    table.write_text(content)
    settings.DOCUMENTS_CLASS_CODE_MAP = str(table)
    [error] = [m for m in checks.run_checks() if m.id == "documents.E001"]
    assert reason in error.msg
    settings.DOCUMENTS_CLASS_CODE_MAP = str(tmp_path / "missing.json")
    assert [m.id for m in checks.run_checks() if m.id == "documents.E001"] == ["documents.E001"]
