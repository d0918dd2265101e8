"""Well-formed and imperfect packages read into a summary (CONFORMANCE.md XDM-R4 to R11,
TST 1 and 2). The packages are built by our own code (documents.building, samples)."""

from __future__ import annotations

import hashlib

from documents import building, ins, package, samples
from tests.documents import hostile_xdm as hostile


def test_it_summarises_a_level1_imaging_report() -> None:
    """TST 1: patient, INS and its kind, type, author, structure, date, integrity."""
    summary = package.read(hostile.good(samples.level1()))
    assert summary.error == "" and summary.coherent and summary.conformant
    patient = summary.patient
    assert patient is not None
    assert (patient.birth_name, patient.given, patient.sex) == ("LEGRAND", "Camille", "F")
    assert patient.birth_date == "19750312"
    assert patient.ins == samples.CAMILLE.matricule
    assert ins.kind(patient.ins_oid) == "INS-NIR de test"
    assert patient.key_ok is True and patient.ins_in_document
    [document] = summary.documents
    assert (document.type_code, document.type_display) == ("18748-4", "CR d'imagerie médicale")
    assert document.author == "Dr Hélène FICTIF"
    assert document.structure == "Centre hospitalier de démonstration"
    assert document.date.startswith("20261120")
    assert (document.level, document.integrity, document.has_pdf) == ("N1", "ok", True)


def test_it_lists_every_document_of_a_package_and_two_subsets() -> None:
    """XDM-R4: any subset name, documents numbered across subsets."""
    one = hostile.entries_of(hostile.good(samples.level1(), samples.level3(with_pdf=True)))
    two = {
        k.replace("SUBSET01", "SUBSET02"): v
        for k, v in hostile.entries_of(hostile.good(samples.level3())).items()
        if k.startswith("IHE_XDM/")
    }
    summary = package.read(hostile.zipped({**one, **two}))
    assert summary.subsets == 2
    assert [(d.number, d.level, d.has_pdf) for d in summary.documents] == [
        (1, "N1", True),
        (2, "N3", True),
        (3, "N3", False),
    ]
    _payload, document = package.open_document(hostile.zipped({**one, **two}), 3)
    assert document is not None and document.header.level == "N3"


def test_it_tolerates_an_undeclared_namespace_prefix_and_flags_it() -> None:
    """XDM-R6: ANS's own sample has an undeclared `ns3:` prefix."""
    data = hostile.good()
    meta = hostile.entries_of(data)[hostile.METADATA].decode()
    meta = meta.replace("<rim:RegistryPackage", "<ns3:RegistryPackage").replace(
        "</rim:RegistryPackage>", "</ns3:RegistryPackage>"
    )
    summary = package.read(hostile.replaced(data, hostile.METADATA, meta.encode()))
    assert summary.error == "" and summary.notes == []
    assert summary.conformant is False
    assert summary.documents[0].integrity == "ok"


def test_it_refuses_a_metadata_with_any_other_syntax_error() -> None:
    """XDM-R6: only the namespace fault is tolerated."""
    data = hostile.replaced(hostile.good(), hostile.METADATA, b"<lcm:SubmitObjectsRequest>")
    summary = package.read(data)
    assert summary.notes == ["xml-syntax"]
    [document] = summary.documents  # "document non identifié", read from the CDA itself
    assert not document.identified and document.type_code == "18748-4"
    assert summary.patient is not None and summary.patient.birth_name == "LEGRAND"
    _payload, parsed = package.open_document(data, 1)
    assert parsed is not None and parsed.header.code == "18748-4"


def test_it_reads_a_uri_relative_to_ihe_xdm_lower_case_names_utf16_and_crlf() -> None:
    """XDM-R8 (the DRIM sample writes `SS000001/DOC`), TST 2 tolerated faults."""
    entries = hostile.entries_of(hostile.good())
    meta = entries[hostile.METADATA].decode().replace("DOC0001.XML", "subset01/doc0001.xml")
    meta = meta.replace('encoding="UTF-8"', 'encoding="UTF-16"').replace("><", ">\r\n<")
    files = {
        "ihe_xdm/subset01/metadata.xml": meta.encode("utf-16"),
        "ihe_xdm/subset01/doc0001.xml": entries[hostile.DOC],
    }
    summary = package.read(hostile.zipped(files))
    assert summary.error == "" and summary.notes == []
    assert summary.documents[0].status == "ok"
    assert summary.documents[0].integrity == "ok"


def test_it_refuses_uris_that_escape_and_lists_missing_documents() -> None:
    """XDM-R8: `..`, `/`, `\\`, a scheme are refused; an absent document is "manquant"."""
    entries = hostile.entries_of(hostile.good(samples.level1(), samples.level3()))
    meta = entries[hostile.METADATA].decode()
    meta = meta.replace("DOC0001.XML", "../../etc/passwd").replace("DOC0002.XML", "DOC0009.XML")
    summary = package.read(hostile.zipped({**entries, hostile.METADATA: meta.encode()}))
    assert [d.status for d in summary.documents] == ["bad-uri", "missing"]
    for uri in ("/etc/passwd", "a\\b", "file:x", "http://127.0.0.9/x"):
        bad = entries[hostile.METADATA].decode().replace("DOC0001.XML", uri)
        read = package.read(hostile.zipped({**entries, hostile.METADATA: bad.encode()}))
        assert read.documents[0].status == "bad-uri", uri


def test_it_warns_on_a_hash_or_size_mismatch_and_when_they_are_absent() -> None:
    """XDM-R9: never silently ignored."""
    entries = hostile.entries_of(hostile.good())
    tampered = entries[hostile.DOC].replace(b"Compte rendu", b"Compte rendX")
    summary = package.read(hostile.zipped({**entries, hostile.DOC: tampered}))
    assert summary.documents[0].integrity == "mismatch"
    sha = hashlib.sha1(entries[hostile.DOC]).hexdigest()  # noqa: S324
    upper = entries[hostile.METADATA].decode().replace(sha, sha.upper())
    summary = package.read(hostile.zipped({**entries, hostile.METADATA: upper.encode()}))
    assert summary.documents[0].integrity == "ok"  # case-insensitive
    size = f'<rim:Slot name="size"><rim:ValueList><rim:Value>{len(entries[hostile.DOC])}'
    wrong = entries[hostile.METADATA].decode().replace(size, size + "1")
    summary = package.read(hostile.zipped({**entries, hostile.METADATA: wrong.encode()}))
    assert summary.documents[0].integrity == "mismatch"
    bare = entries[hostile.METADATA].decode().replace('name="hash"', 'name="x"')
    bare = bare.replace('name="size"', 'name="y"')
    summary = package.read(hostile.zipped({**entries, hostile.METADATA: bare.encode()}))
    assert summary.documents[0].integrity == "unverifiable"


def test_it_flags_a_package_about_two_patients() -> None:
    """XDM-R10: the red banner's condition."""
    summary = package.read(hostile.good(samples.level1(), samples.level1(samples.PAUL)))
    assert summary.coherent is False
    assert len(summary.identities) == 2


def test_it_flags_a_cda_whose_patient_differs_from_the_metadata() -> None:
    """XDM-R10: the METADATA says Camille, the CDA says Paul."""
    entries = hostile.entries_of(hostile.good())
    other = samples.level1(samples.PAUL)
    summary = package.read(hostile.zipped({**entries, hostile.DOC: other}))
    assert summary.coherent is False


def test_it_shows_a_bad_ins_key_without_correcting_it() -> None:
    """XDM-R11/PAT1: a real ANS sample carries an INS with a wrong key."""
    bad = samples.FakePatient(matricule=samples.CAMILLE.matricule[:-2] + "00")
    summary = package.read(hostile.good(samples.level1(bad)))
    assert summary.patient is not None
    assert summary.patient.ins == bad.matricule and summary.patient.key_ok is False


def test_it_reads_the_metadata_fields_it_shows() -> None:
    """XDM-R7: type, class, confidentiality, author, patient info, submission set."""
    built = building.build([samples.level3()], hostile.SENDER)
    from documents import metadata

    meta = metadata.read(hostile.entries_of(built.data)[hostile.METADATA])
    assert meta.patient.value == samples.CAMILLE.matricule
    assert meta.patient.oid == ins.INS_NIR_TEST
    assert meta.author.person == "Marie DURAND"
    [entry] = meta.entries
    assert entry.type_code.code == "11502-2" and entry.type_code.display
    assert [c.code for c in entry.confidentiality] == ["N"]
    assert entry.patient_info["PID-5"].startswith("LEGRAND^Camille")
    assert entry.uri == "DOC0001.XML" and entry.size and len(entry.hash) == 40


def test_it_recognises_xdm_attachments_by_name() -> None:
    """XDM-R1."""
    for name in ("IHE_XDM.ZIP", "ihe_xdm.zip", "IHE_XDM_2.ZIP", "IHE_XDM.2.zip"):
        assert package.is_xdm(name), name
    for name in ("XDM.ZIP", "IHE_XDM.ZIP.PDF", "IHE_XDMZIP", "documents.zip"):
        assert not package.is_xdm(name), name


def test_it_checks_ins_keys_and_kinds() -> None:
    """PAT1 and XDM-R11 (kinds from the OID)."""
    assert ins.key_ok(ins.with_key("2750375123456"))
    assert ins.key_ok(ins.with_key("180022A123456"))  # Corsica
    assert not ins.key_ok("275037512345600")
    assert not ins.key_ok("975037512345600")
    assert ins.kind(ins.INS_NIR) == "INS-NIR"
    assert "1.2.3" in ins.kind("1.2.3")
