"""Importing the Annuaire Santé MSSanté extraction (CONFORMANCE.md DIR1–DIR4): streamed into
a staging table, then swapped in for the directory in one transaction, or refused with the
previous directory kept."""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from django.db import connection, transaction

from directory import trustlist
from directory.models import DirectoryEntry, DirectoryImport, DirectoryStaging
from mailboxes import audit
from mailboxes.mailcache.search import document, vector_of
from mailboxes.models import AuditEvent

# The columns we use, by their header's name (DIR2), normalised by `column_key`.
COLUMNS = {
    "type de bal": "kind",
    "adresse bal": "address",
    "identification nationale pp": "national_id",
    "identification structure": "structure_id",
    "service de rattachement": "service",
    "civilite d'exercice": "civility",
    "nom d'exercice": "last_name",
    "prenom d'exercice": "first_name",
    "libelle profession": "profession",
    "libelle savoir-faire": "specialty",
    "raison sociale structure bal": "structure",
    "enseigne commerciale structure bal": "sign",
    "code postal structure bal": "postal_code",
    "code postal": "postal_code",
    "l6ligneacheminement structure bal": "city",
    "l6ligneacheminement": "city",
    "departement structure bal": "department",
    "departement": "department",
    # Not in the public extraction today; honoured when present (DIR4).
    "liste rouge": "red_list",
    "listerouge": "red_list",
}
REQUIRED = ("kind", "address")
KINDS = {"PER", "ORG", "APP", "CAB"}
RED = {"true", "oui", "o", "1", "y", "yes"}
CIVILITIES = {"DR": "Dr", "PR": "Pr", "M": "M.", "MME": "Mme", "MLLE": "Mlle"}
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
LEADING_POSTAL_CODE = re.compile(r"^\d{4,5}\s+")
MIN_SHARE = 0.5  # an import with fewer rows than half the directory's is refused (DIR3)
BATCH = 5000
# DIR1: the ZIP holds one entry, within XDM-R3-style limits.
MAX_UNZIPPED = 1024**3
MAX_RATIO = 50
# The stored columns, in the order rows are staged; the searched words last.
_FIELDS = [f for f in DirectoryStaging._meta.concrete_fields if f.name not in ("id", "words")]
STORED = [*(f.name for f in _FIELDS), "words"]
LENGTHS = {f.name: f.max_length or 200 for f in _FIELDS}


class Refused(Exception):
    """The extraction is not imported; the directory in force stays."""


def column_key(name: str) -> str:
    name = unicodedata.normalize("NFKD", name.replace("\ufeff", "").replace("’", "'"))
    name = "".join(c for c in name if not unicodedata.combining(c))
    return " ".join(name.lower().split())


@dataclass
class Counts:
    read: int = 0
    imported: int = 0  # rows staged (a repeated address is kept once, at the swap)
    skipped: int = 0
    red_list: int = 0


@dataclass
class Row:
    address: str
    kind: str
    national_id: str = ""
    civility: str = ""
    last_name: str = ""
    first_name: str = ""
    profession: str = ""
    specialty: str = ""
    structure_id: str = ""
    structure: str = ""
    service: str = ""
    postal_code: str = ""
    city: str = ""
    department: str = ""

    def words(self) -> str:
        local = self.address.partition("@")[0]
        values = [getattr(self, f.name) for f in fields(self) if f.name != "civility"]
        return document(local, *values)

    def staged(self) -> tuple[str, ...]:
        """The row's stored values, in STORED's order."""
        values = [getattr(self, name)[: LENGTHS[name]] for name in STORED[:-1]]
        return (*values, self.words())


def header_map(line: str) -> dict[str, int]:
    """Which position holds each column we use; Refused without the required ones."""
    positions: dict[str, int] = {}
    for index, name in enumerate(line.rstrip("\r\n").split("|")):
        field = COLUMNS.get(column_key(name))
        if field and field not in positions:
            positions[field] = index
    if missing := [f for f in REQUIRED if f not in positions]:
        raise Refused(f"missing column(s): {', '.join(missing)}")
    return positions


def parse_row(values: list[str], positions: dict[str, int], counts: Counts) -> Row | None:
    def get(name: str) -> str:
        index = positions.get(name)
        return values[index].strip() if index is not None else ""

    if get("red_list").lower() in RED:
        counts.red_list += 1  # "ne doit pas être publiée": never stored (DIR4)
        return None
    address, kind = get("address").lower(), get("kind").upper()
    if kind not in KINDS or not ADDRESS.fullmatch(address) or not trustlist.domain_of(address):
        counts.skipped += 1
        return None
    civility = get("civility")
    extra = {f: get(f) for f in positions if f not in ("address", "kind", "red_list", "sign")}
    extra["civility"] = CIVILITIES.get(civility.upper(), civility)
    extra["city"] = LEADING_POSTAL_CODE.sub("", extra.get("city", ""))  # "69003 LYON"
    if not extra.get("structure"):
        extra["structure"] = get("sign")
    return Row(address=address, kind=kind, **extra)


def rows(
    lines: Iterable[bytes], counts: Counts, progress: Callable[[Counts], None]
) -> Iterator[Row]:
    """The valid rows of the extraction; the others are counted (DIR2)."""
    lines = iter(lines)
    try:
        header = next(lines).decode("utf-8-sig")
    except (StopIteration, UnicodeDecodeError):
        raise Refused("no UTF-8 header line") from None
    positions = header_map(header)
    width = len(header.rstrip("\r\n").split("|"))
    for raw in lines:
        counts.read += 1
        if counts.read % 50_000 == 0:
            progress(counts)
        try:
            values = raw.decode("utf-8").rstrip("\r\n").split("|")
        except UnicodeDecodeError:
            counts.skipped += 1
            continue
        if len(values) != width:
            counts.skipped += 1
            continue
        if (row := parse_row(values, positions, counts)) is not None:
            counts.imported += 1
            yield row


@contextmanager
def opened(path: Path) -> Iterator[Iterable[bytes]]:
    """The extraction's lines, from the text file or the ZIP the ANS publishes (DIR1)."""
    if not zipfile.is_zipfile(path):
        with path.open("rb") as f:
            yield f
        return
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        if len(entries) != 1:
            raise Refused(f"the ZIP holds {len(entries)} entries, one expected")
        [entry] = entries
        if entry.file_size > MAX_UNZIPPED or entry.file_size > MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise Refused("the ZIP's entry is too large or too compressed")
        # zipfile stops at the declared size and checks the CRC: the header cannot lie.
        with archive.open(entry) as f:
            yield f


def empty_staging() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE directory_directorystaging")
        else:
            cursor.execute("DELETE FROM directory_directorystaging")


def stage(found: Iterable[Row]) -> None:
    """Stream the rows into the staging table: COPY on PostgreSQL, batches on SQLite."""
    empty_staging()
    names = STORED
    if connection.vendor == "postgresql":
        columns = ", ".join([*names, "vector"])
        sql = f"COPY directory_directorystaging ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in found:
                staged = row.staged()
                copy.write_row((*staged, vector_of(staged[-1])))
        return
    # The column names are ours (STORED), never the file's.
    sql = (
        f"INSERT INTO directory_directorystaging ({', '.join(names)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    batch: list[tuple[str, ...]] = []
    with connection.cursor() as cursor:
        for row in found:
            batch.append(row.staged())
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                batch.clear()
        cursor.executemany(sql, batch)


@transaction.atomic
def swap() -> int:
    """Replace the directory by the staging rows in one transaction (DIR3): readers see the
    old directory until it commits. A repeated address is kept once. Returns the count."""
    names = [*STORED, "vector"] if connection.vendor == "postgresql" else STORED
    columns = ", ".join(names)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM directory_directoryentry")
        # WHERE true: SQLite's parser needs it before ON CONFLICT in INSERT … SELECT.
        cursor.execute(
            f"INSERT INTO directory_directoryentry ({columns}) SELECT {columns} "  # noqa: S608
            "FROM directory_directorystaging WHERE true ON CONFLICT (address) DO NOTHING"
        )
        if connection.vendor == "sqlite":
            cursor.execute(
                "INSERT INTO directory_entry_fts(directory_entry_fts) VALUES ('rebuild')"
            )
        cursor.execute("DELETE FROM directory_directorystaging")
    return DirectoryEntry.objects.count()


def do_import_annuaire(
    path: Path, progress: Callable[[Counts], None] = lambda counts: None
) -> DirectoryImport:
    """Import the extraction at `path`; a refused one (missing column, too few rows,
    unreadable) leaves the directory in force, and says why (audit `directory.import`)."""
    counts = Counts()
    previous = DirectoryEntry.objects.count()
    try:
        # Atomic: a failure half-way (a read error) leaves no half-staged rows.
        with opened(path) as lines, transaction.atomic():
            stage(rows(lines, counts, progress))
        staged = DirectoryStaging.objects.count()
        if staged < previous * MIN_SHARE:
            raise Refused(f"{staged} rows against {previous} in the directory: fewer than half")
        if staged == 0:
            raise Refused("no valid row")
    except (Refused, OSError, zipfile.BadZipFile) as exc:
        empty_staging()
        return refused(path, counts, str(exc))
    imported = swap()
    if connection.vendor == "postgresql":
        # Fresh statistics: the planner then scans the table for a common prefix ("mar",
        # LIMIT 10: sub-millisecond) and the GIN index for a rare one. Without them it
        # guesses, and builds 100,000-row bitmaps for "toulouse radio" (DIR5: p95 ≤ 50 ms).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE directory_directoryentry")
    outcome = DirectoryImport.objects.create(
        source=str(path)[:500],
        accepted=True,
        read=counts.read,
        imported=imported,
        skipped=counts.skipped,
        red_list=counts.red_list,
    )
    response = f"{counts.read} read, {imported} imported, {counts.skipped} skipped"
    audit.record(None, "directory.import", target=str(path), response=response)
    return outcome


def refused(path: Path, counts: Counts, reason: str) -> DirectoryImport:
    audit.record(
        None,
        "directory.import",
        target=str(path),
        outcome=AuditEvent.Outcome.ERROR,
        response=reason,
    )
    return DirectoryImport.objects.create(
        source=str(path)[:500],
        reason=reason[:500],
        read=counts.read,
        skipped=counts.skipped,
        red_list=counts.red_list,
    )
