"""Property-based: reading an IHE XDM package (documents.package) never raises, whatever the
zip, the METADATA.XML or the CDA inside holds; only a reason code says what was wrong
(CONFORMANCE.md XDM-R3 to R11, issue 17)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from documents import cda, metadata, package
from documents.errors import REASONS, Refused
from tests.documents.hostile_xdm import DOC, METADATA, entries_of, good, zipped
from tests.strategies import header_text

pytestmark = pytest.mark.django_db  # the unzip limits are settings; nothing is stored

GOOD = good()
GOOD_ENTRIES = entries_of(GOOD)

TAGS = st.sampled_from(
    ["SubmitObjectsRequest", "RegistryObjectList", "RegistryPackage", "ExtrinsicObject",
     "Classification", "ExternalIdentifier", "Slot", "ValueList", "Value", "Name",
     "LocalizedString", "ClinicalDocument", "recordTarget", "patientRole", "id", "patient",
     "name", "given", "family", "author", "assignedAuthor", "code", "title", "component",
     "nonXMLBody", "text", "structuredBody", "section", "effectiveTime", "x:unbound"]
)  # fmt: skip
ATTRIBUTES = st.sampled_from(
    ["id", "objectType", "classificationScheme", "classifiedObject", "identificationScheme",
     "registryObject", "value", "name", "nodeRepresentation", "mimeType", "root",
     "extension", "code", "codeSystem", "displayName", "mediaType", "representation"]
)  # fmt: skip
NAMESPACES = (
    ' xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"',
    ' xmlns="urn:hl7-org:v3"',
    "",
)


def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def build(tag: str, attrs: list[tuple[str, str]], body: list[str], text: str) -> str:
        written = "".join(f" {name}={quoteattr(value)}" for name, value in dict(attrs).items())
        return f"<{tag}{written}>{escape(text)}{''.join(body)}</{tag}>"

    return st.builds(
        build, TAGS, st.lists(st.tuples(ATTRIBUTES, header_text), max_size=3),
        st.lists(children, max_size=4), header_text,
    )  # fmt: skip


xml_tree = st.recursive(st.just(""), element, max_leaves=25)


@st.composite
def xml_document(draw: st.DrawFn) -> bytes:
    """An XML document of the right vocabulary, or broken on purpose (cut, doctype)."""
    root = draw(st.sampled_from(["SubmitObjectsRequest", "ClinicalDocument", "Other"]))
    namespace = draw(st.sampled_from(NAMESPACES))
    text = f"<?xml version='1.0' encoding='UTF-8'?><{root}{namespace}>{draw(xml_tree)}</{root}>"
    data = text.encode("utf-8", "surrogatepass")
    cut = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=len(data))))
    if draw(st.booleans()):
        data = b'<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.9/">]>' + data
    return data if cut is None else data[:cut]


def assert_summarised(summary: package.PackageSummary) -> None:
    assert summary.error == "" or summary.error in REASONS
    for document in summary.documents:
        assert document.status == "ok" or document.status in REASONS, document.status


@given(st.binary(max_size=3000))
def test_any_bytes_give_a_summary_never_an_exception(data: bytes) -> None:
    assert_summarised(package.read(data))


@given(st.data())
def test_a_good_package_damaged_anywhere_gives_a_summary(data: st.DataObject) -> None:
    damaged = bytearray(GOOD)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        position = data.draw(st.integers(min_value=0, max_value=len(damaged) - 1))
        damaged[position] = data.draw(st.integers(min_value=0, max_value=255))
    assert_summarised(package.read(bytes(damaged)))


@given(xml_document(), xml_document())
def test_a_package_of_generated_metadata_and_documents_gives_a_summary(
    metadata_xml: bytes, document: bytes
) -> None:
    files = {**GOOD_ENTRIES, METADATA: metadata_xml, DOC: document}
    assert_summarised(package.read(zipped(files)))


@given(xml_document())
def test_the_xml_readers_refuse_with_a_reason_only(data: bytes) -> None:
    for read in (metadata.read, cda.parse):
        try:
            read(data)
        except Refused as refused:
            assert refused.code in REASONS


@given(st.dictionaries(
    st.one_of(st.sampled_from([METADATA, DOC, "IHE_XDM/SUBSET01/", "README.TXT", "../x",
                               "IHE_XDM/SUBSET02/METADATA.XML", "/abs", "IHE_XDM/A/B/C/D.XML"]),
              header_text),
    st.binary(max_size=300), max_size=6,
))  # fmt: skip
def test_any_file_names_in_the_zip_give_a_summary(files: dict[str, bytes]) -> None:
    try:
        archive = zipped(files)
    except (ValueError, UnicodeEncodeError, IndexError):
        return  # zipfile itself refuses to write such a name: nobody can send it
    assert_summarised(package.read(archive))


def test_a_central_directory_claiming_a_newer_zip_version_is_refused_not_raised() -> None:
    """Found by the damage test above (one byte): zipfile raises NotImplementedError."""
    damaged = bytearray(GOOD)
    directory = damaged.find(b"PK\x01\x02")
    damaged[directory + 6 : directory + 8] = (64).to_bytes(2, "little")  # "needs version 6.4"
    assert package.read(bytes(damaged)).error == "not-zip"
