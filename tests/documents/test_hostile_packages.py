"""Hostile packages are refused cleanly (CONFORMANCE.md XDM-R3, XDM-R5, TST 3): a reason
code with a French sentence, within seconds, nothing written, no network."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from django.utils import translation

from documents import cda, errors, metadata, package
from documents.errors import Refused
from documents.unzip import Archive, Limits
from tests.documents import hostile_xdm as hostile
from tests.documents.conftest import connected

SECONDS = 5


def french(code: str) -> bool:
    """The reason is shown in French (the .po has it), not the English msgid."""
    with translation.override("fr"):
        shown = errors.reason(code)
    with translation.override("en"):
        return shown != errors.reason(code)


@pytest.mark.parametrize("case", hostile.CASES, ids=lambda case: case.name)
def test_it_refuses_each_hostile_archive_with_a_french_reason(
    case: hostile.Case, sealed: Path
) -> None:
    """XDM-R3: each limit, name rule, flag and mode bit."""
    data = case.build()
    started = time.monotonic()
    summary = package.read(data)
    assert time.monotonic() - started < SECONDS
    if case.document:
        assert summary.error == ""
        assert summary.documents[0].status == case.code
    else:
        assert summary.error == case.code
        assert summary.documents == []
    assert french(case.code)


def test_it_counts_inflated_bytes_not_the_declared_sizes(sealed: Path) -> None:
    """XDM-R3: the bytes are counted as they come (here against METADATA's 2 MB)."""
    data = hostile.zipped({hostile.METADATA: b"y" * 300_000})
    archive = Archive(data)
    with pytest.raises(Refused) as refused:
        archive.read(hostile.METADATA, limit=100_000)
    assert refused.value.code == "metadata-too-large"


def test_it_refuses_a_package_whose_files_together_exceed_the_total(sealed: Path) -> None:
    """XDM-R3: the total is counted across the files read."""
    first = hostile.level3_with_noise(600_000)
    data = hostile.good(first, first)
    summary = package.read(data, Limits(total_bytes=1_000_000))
    assert summary.error == "total-too-large"


def test_it_refuses_a_package_over_the_part_limit(sealed: Path) -> None:
    summary = package.read(hostile.good(), Limits(part_bytes=1000))
    assert summary.error == "too-large"


def test_it_never_opens_a_nested_archive(sealed: Path) -> None:
    """XDM-R3: the inner 10 MB zero file is never inflated (it would trip the ratio)."""
    summary = package.read(hostile.nested_zip())
    assert summary.error == ""
    assert summary.documents[0].status == "unreadable"


@pytest.mark.parametrize(("kind", "code"), hostile.XML_ATTACKS)
def test_it_refuses_hostile_xml_in_metadata_without_touching_the_network(
    kind: str, code: str, trap: tuple[int, socket.socket], sealed: Path
) -> None:
    """XDM-R5: XXE (file, http), external DTD, parameter entities, billion laughs,
    quadratic blowup, depth 5,000, a 12 MB text node."""
    port, listener = trap
    data = hostile.replaced(hostile.good(), hostile.METADATA, hostile.xml_attack(kind, port))
    started = time.monotonic()
    summary = package.read(data)
    assert time.monotonic() - started < SECONDS
    expected = "metadata-too-large" if kind == "text-node" else code  # 2 MB limit first
    assert summary.notes == [expected]
    # XDM-R6: the CDA beside the refused METADATA is still shown, "non identifié".
    assert [(d.identified, d.status, d.integrity) for d in summary.documents] == [
        (False, "ok", "unverifiable")
    ]
    assert not connected(listener)


@pytest.mark.parametrize(("kind", "code"), hostile.XML_ATTACKS)
def test_it_refuses_hostile_xml_as_a_cda_and_keeps_the_package(
    kind: str, code: str, trap: tuple[int, socket.socket], sealed: Path
) -> None:
    """XDM-R5 and CDA-R4: the document is unreadable, the package still listed."""
    port, listener = trap
    data = hostile.replaced(hostile.good(), hostile.DOC, hostile.xml_attack(kind, port))
    summary = package.read(data)
    expected = {"xml-syntax": "unreadable"}.get(code, code)
    if kind == "text-node":
        expected = "not-cda"  # XDM-R5 allows the huge re-parse for a CDA: it is not one
    assert summary.error == ""
    assert summary.documents[0].status == expected
    assert not connected(listener)


def test_it_never_expands_an_entity_even_without_a_doctype_check() -> None:
    """XDM-R5: the parser options alone keep /etc/passwd out."""
    with pytest.raises(Refused):
        cda.parse(hostile.xml_attack("xxe-file"))
    with pytest.raises(Refused):
        metadata.read(hostile.xml_attack("xxe-file"))
