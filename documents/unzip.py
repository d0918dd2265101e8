"""An IHE_XDM.ZIP opened in memory under every limit of CONFORMANCE.md XDM-R3.

Nothing is extracted or written anywhere: the archive is a `BytesIO`, each file is read
into memory on demand, its bytes counted while they are inflated (the sizes a header
declares are never trusted). Nested archives are never opened: they are just bytes.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass

from django.conf import settings

from documents.errors import Refused

MIB = 1024 * 1024
CHUNK = 64 * 1024
METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# NUL and C0 controls, DEL, and the bidi controls that make a name read backwards.
BAD_CHARACTERS = re.compile("[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
DRIVE = re.compile(r"^[A-Za-z]:")
SPECIAL = (stat.S_ISLNK, stat.S_ISCHR, stat.S_ISBLK, stat.S_ISFIFO, stat.S_ISSOCK)


@dataclass(frozen=True)
class Limits:
    """XDM-R3's limits; each is a setting (DOCUMENTS_XDM_*), defaults as written there."""

    part_bytes: int = 25 * MIB  # the compressed package (the MES limit)
    entries: int = 100
    entry_bytes: int = 20 * MIB  # each file, uncompressed
    metadata_bytes: int = 2 * MIB
    total_bytes: int = 100 * MIB
    ratio: int = 200  # refused above this ratio...
    ratio_floor: int = 1 * MIB  # ...for a file that inflates beyond this

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            **{
                name: getattr(settings, f"DOCUMENTS_XDM_{name.upper()}", default)
                for name, default in vars(cls()).items()
            }
        )


def name_problem(name: str) -> bool:
    """Whether an entry's name is refused: absolute, `..` or empty components, backslash,
    drive letter, NUL/C0/bidi controls, longer than 255."""
    if not name or len(name) > 255 or "\\" in name or BAD_CHARACTERS.search(name):
        return True
    if name.startswith("/") or DRIVE.match(name):
        return True
    parts = name.removesuffix("/").split("/")
    return any(part in ("", ".", "..") for part in parts)


class Archive:
    """The files of a package, checked as a whole on opening, read one by one under the
    limits. `names` maps upper-cased names to entries (names compare case-insensitively)."""

    def __init__(self, data: bytes, limits: Limits | None = None) -> None:
        self.limits = limits or Limits.from_settings()
        if len(data) > self.limits.part_bytes:
            raise Refused("too-large")
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        # NotImplementedError: a central directory claiming a newer zip version (found by
        # tests/documents/test_fuzz_xdm.py on one damaged byte: the summary raised).
        except (
            zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
            NotImplementedError,
        ):  # fmt: skip
            raise Refused("not-zip") from None
        if len(infos) > self.limits.entries:
            raise Refused("too-many-entries")
        self.names: dict[str, zipfile.ZipInfo] = {}
        self._seen: set[str] = set()
        self._total = self._declared_total = 0
        for info in infos:
            self._check(info)

    def _check(self, info: zipfile.ZipInfo) -> None:
        if name_problem(info.orig_filename) or name_problem(info.filename):
            raise Refused("bad-name")
        key = info.filename.removesuffix("/").upper()
        if key in self._seen:
            raise Refused("duplicate-name")
        self._seen.add(key)
        if info.flag_bits & 0x1:
            raise Refused("encrypted")
        mode = info.external_attr >> 16
        if mode and any(test(mode) for test in SPECIAL):
            raise Refused("special-file")
        if info.is_dir():
            return  # ignored; its name still had to be clean
        if info.compress_type not in METHODS:
            raise Refused("method")
        self._declared(info)
        self.names[key] = info

    def _declared(self, info: zipfile.ZipInfo) -> None:
        """What the headers declare, refused early; reading counts again (they may lie)."""
        self._declared_total += info.file_size
        if info.file_size > self.limits.entry_bytes:
            raise Refused("entry-too-large")
        if self._declared_total > self.limits.total_bytes:
            raise Refused("total-too-large")
        ratio = info.file_size > self.limits.ratio * max(info.compress_size, 1)
        if info.file_size > self.limits.ratio_floor and ratio:
            raise Refused("ratio")

    def read(self, key: str, limit: int | None = None) -> bytes:
        """The bytes of the file named `key` (upper case), counted while inflated."""
        info = self.names[key]
        limit = min(limit or self.limits.entry_bytes, self.limits.entry_bytes)
        chunks: list[bytes] = []
        size = 0
        try:
            with self._zip.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    self._total += len(chunk)
                    self._count(info, size, limit)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError):
            raise Refused("not-zip") from None
        return b"".join(chunks)

    def _count(self, info: zipfile.ZipInfo, size: int, limit: int) -> None:
        if size > limit:
            raise Refused(
                "metadata-too-large" if limit < self.limits.entry_bytes else "entry-too-large"
            )
        if self._total > self.limits.total_bytes:
            raise Refused("total-too-large")
        if size > self.limits.ratio_floor and size > self.limits.ratio * max(info.compress_size, 1):
            raise Refused("ratio")
