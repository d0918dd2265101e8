"""Hostile IHE_XDM.ZIP packages built on demand (CONFORMANCE.md TST 3): one per XDM-R3/R5
case, each with the reason code the reader must give. Built by our own code, never kept
as files (some inflate to gigabytes)."""

from __future__ import annotations

import base64
import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from documents import building, samples

# Where an external entity or DTD would point: tests listen there and expect nobody.
TRAP_HOST = "127.0.0.9"
SENDER = building.Sender(
    id="810101234567", family="DURAND", given="Marie", source_id="1.2.250.1.999.1"
)


def good(*documents: bytes) -> bytes:
    """A well-formed package of `documents` (default: one CDA N1)."""
    return building.build(list(documents) or [samples.level1()], SENDER).data


def entries_of(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def zipped(
    files: dict[str, bytes] | list[tuple[str | zipfile.ZipInfo, bytes]],
    method: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    out = io.BytesIO()
    items = files.items() if isinstance(files, dict) else files
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return out.getvalue()


def replaced(package: bytes, name: str, data: bytes) -> bytes:
    return zipped({**entries_of(package), name: data})


METADATA = "IHE_XDM/SUBSET01/METADATA.XML"
DOC = "IHE_XDM/SUBSET01/DOC0001.XML"


def with_info(name: str, *, mode: int = 0, flags: int = 0, method: int = 8) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.flag_bits |= flags
    info.compress_type = method
    return info


def level3_with_noise(size: int) -> bytes:
    """A CDA N3 that does not compress (random text in its narrative)."""
    noise = base64.b64encode(os.urandom(size * 3 // 4)).decode()
    return samples.level3(narrative=f"<paragraph>{noise}</paragraph>")


def zip_bomb() -> bytes:
    return zipped({METADATA: entries_of(good())[METADATA], DOC: b"\0" * (15 * 1024 * 1024)})


def lying_sizes(package: bytes) -> bytes:
    """Every entry's declared uncompressed size set to 1 (reading must count, XDM-R3)."""
    data = bytearray(package)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(signature)
        while start >= 0:
            data[start + offset : start + offset + 4] = (1).to_bytes(4, "little")
            start = data.find(signature, start + 4)
    return bytes(data)


def big_entry() -> bytes:
    # Stored (ratio 1:1) so only the size limit can refuse it; 21 MB < the 25 MB part.
    files = {**entries_of(good()), DOC: b"x" * (21 * 1024 * 1024)}
    return zipped(files, method=zipfile.ZIP_STORED)


def patched(package: bytes, placeholder: bytes, real: bytes) -> bytes:
    """Write a name zipfile would not (it cuts names at NUL): same length, swapped in."""
    assert len(placeholder) == len(real)
    return package.replace(placeholder, real)


def nul_name() -> bytes:
    return patched(replaced(good(), "IHE_XDM/SUBSET01/A#.XML", b"x"), b"A#.XML", b"A\x00.XML")


def flagged_encrypted(package: bytes) -> bytes:
    """Set the encryption bit of every entry (zipfile clears it when writing)."""
    data = bytearray(package)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start >= 0:
            data[start + offset] |= 0x1
            start = data.find(signature, start + 4)
    return bytes(data)


def many_entries() -> bytes:
    return zipped({f"IHE_XDM/SUBSET01/F{n:04d}.TXT": b"" for n in range(5000)})


def nested_zip() -> bytes:
    inner = zipped({"BOMB.TXT": b"\0" * (10 * 1024 * 1024)})
    return replaced(good(), DOC, zipped({"INNER.ZIP": inner}))


def traversal(name: str) -> Callable[[], bytes]:
    return lambda: replaced(good(), name, b"owned")


def symlink() -> bytes:
    link = with_info("IHE_XDM/SUBSET01/LINK", mode=0o120777)
    return zipped([*entries_of(good()).items(), (link, b"/etc/passwd")])


def case_twins() -> bytes:
    return zipped([*entries_of(good()).items(), (DOC.lower(), b"<x/>")])


def encrypted() -> bytes:
    return flagged_encrypted(good())


def bzip2() -> bytes:
    return zipped([(with_info(METADATA, method=zipfile.ZIP_BZIP2), entries_of(good())[METADATA])])


def truncated() -> bytes:
    package = good()
    return package[: len(package) // 2]


def xml_attack(kind: str, trap_port: int = 9) -> bytes:
    """A small XML document carrying `kind` of attack (XDM-R5)."""
    url = f"http://{TRAP_HOST}:{trap_port}"
    head = '<?xml version="1.0"?>\n'
    root = "SubmitObjectsRequest"
    attacks = {
        "xxe-file": f'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><{root}>&x;</{root}>',
        "xxe-http": f'<!DOCTYPE r [<!ENTITY x SYSTEM "{url}/x">]><{root}>&x;</{root}>',
        "external-dtd": f'<!DOCTYPE r SYSTEM "{url}/r.dtd"><{root}/>',
        "parameter-entity": f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]><{root}/>',
        "billion-laughs": '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9))
        + f"]><{root}>&j;</{root}>",
        "quadratic": f'<!DOCTYPE r [<!ENTITY a "{"a" * 50_000}">]><{root}>{"&a;" * 50_000}</{root}>',
        "deep": "<a>" * 5000 + "</a>" * 5000,
        # Incompressible (random base64), so that only the XML limit can refuse it.
        "text-node": f"<{root}>{base64.b64encode(os.urandom(9 * 1024 * 1024)).decode()}</{root}>",
    }
    return (head + attacks[kind]).encode()


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    code: str  # the package's error, or a document status when `document` is True
    document: bool = False


CASES = [
    Case("zip bomb (ratio)", zip_bomb, "ratio"),
    # zipfile stops at the declared size, then the CRC fails: never inflated further.
    Case("zip bomb with a lying header", lambda: lying_sizes(zip_bomb()), "not-zip"),
    Case("entry over 20 MB", big_entry, "entry-too-large"),
    Case("5,000 entries", many_entries, "too-many-entries"),
    Case("nested zip as the document", nested_zip, "unreadable", document=True),
    Case("../ traversal", traversal("IHE_XDM/../../etc/x"), "bad-name"),
    Case("absolute path", traversal("/etc/x"), "bad-name"),
    Case("backslash traversal", traversal("..\\..\\x"), "bad-name"),
    Case("drive letter", traversal("C:/x"), "bad-name"),
    Case("empty component", traversal("IHE_XDM//x"), "bad-name"),
    Case("NUL in a name", nul_name, "bad-name"),
    Case("control character", traversal("IHE_XDM/SUBSET01/A\x1b.XML"), "bad-name"),
    Case("bidi override", traversal("IHE_XDM/SUBSET01/\u202eLMX.FDP"), "bad-name"),
    Case("name over 255", traversal("IHE_XDM/" + "A" * 300), "bad-name"),
    Case("symlink", symlink, "special-file"),
    Case("case-twin names", case_twins, "duplicate-name"),
    Case("encrypted flag", encrypted, "encrypted"),
    Case("bzip2 method", bzip2, "method"),
    Case("truncated", truncated, "not-zip"),
    Case("not a zip", lambda: b"PK\x03\x04 ceci n'est pas une archive", "not-zip"),
    Case("no METADATA", lambda: zipped({"README.TXT": b"rien"}), "no-metadata"),
]
XML_ATTACKS = [
    ("xxe-file", "xml-doctype"),
    ("xxe-http", "xml-doctype"),
    ("external-dtd", "xml-doctype"),
    ("parameter-entity", "xml-doctype"),
    ("billion-laughs", "xml-doctype"),
    ("quadratic", "xml-doctype"),
    ("deep", "xml-syntax"),
    ("text-node", "xml-syntax"),
]
