"""Import structures, managers, mailboxes and delegations from CSV, all or nothing.

Columns: record,name,kind,finess,siret,address,label,structure,owner,person,role,expires
  structure   name, kind, finess and/or siret
  manager     structure (FINESS or SIRET), person
  mailbox     address, kind (PER/ORG/APP/CAB), label, structure (ORG), owner (PER)
  delegation  address, person, role, expires (YYYY-MM-DD, optional)
A person is a SubjectNameID (digits) or an e-mail address; unknown people are created.
Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from typing import Any

from django.db import transaction
from django.utils import timezone

from mailboxes.models import Delegation, Mailbox, Structure, User

COLUMNS = (
    "record", "name", "kind", "finess", "siret", "address", "label", "structure", "owner",
    "person", "role", "expires",
)  # fmt: skip


class ImportFailed(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class RowError(Exception):
    pass


def structure_ref(value: str) -> Structure:
    found = Structure.objects.filter(finess=value).first() if len(value) == 9 else None
    found = found or Structure.objects.filter(siret=value).first()
    if not value or found is None:
        raise RowError(f"unknown structure {value!r}")
    return found


def person_ref(value: str) -> User:
    value = value.strip()
    if value.isdigit():
        user, _ = User.objects.get_or_create(
            subject_name_id=value, defaults={"username": f"psc-{value}"}
        )
        return user
    if "@" not in value:
        raise RowError(f"a person is a SubjectNameID or an e-mail address, not {value!r}")
    found = User.objects.filter(email__iexact=value).first()
    if found is not None:
        return found
    user = User(username=value.lower(), email=value.lower())
    user.set_unusable_password()
    user.save()
    return user


def choice(value: str, choices: Iterable[str], what: str) -> str:
    if value not in choices:
        raise RowError(f"unknown {what} {value!r}")
    return value


def import_structure(row: dict[str, str]) -> None:
    if not row["name"] or not (row["finess"] or row["siret"]):
        raise RowError("a structure needs a name and a FINESS or SIRET")
    kind = choice(row["kind"] or "other", Structure.Kind.values, "structure kind")
    lookup: dict[str, Any] = {"finess": row["finess"]} if row["finess"] else {"siret": row["siret"]}
    defaults = {"name": row["name"], "kind": kind, "finess": row["finess"], "siret": row["siret"]}
    Structure.objects.update_or_create(**lookup, defaults=defaults)


def import_manager(row: dict[str, str]) -> None:
    structure_ref(row["structure"]).managers.add(person_ref(row["person"]))


def import_mailbox(row: dict[str, str]) -> None:
    kind = choice(row["kind"], Mailbox.Kind.values, "mailbox kind")
    if not row["address"] or "@" not in row["address"]:
        raise RowError(f"invalid address {row['address']!r}")
    owner = person_ref(row["owner"]) if kind == Mailbox.Kind.PERSONAL else None
    structure = structure_ref(row["structure"]) if row["structure"] else None
    if kind == Mailbox.Kind.ORGANISATIONAL and structure is None:
        raise RowError("an organisational mailbox needs its structure")
    Mailbox.objects.update_or_create(
        address=row["address"].lower(),
        defaults={"kind": kind, "label": row["label"], "structure": structure, "owner": owner},
    )


def import_delegation(row: dict[str, str]) -> None:
    mailbox = Mailbox.objects.filter(address=row["address"].lower()).first()
    if mailbox is None:
        raise RowError(f"unknown mailbox {row['address']!r}")
    role = choice(row["role"], Delegation.Role.values, "role")
    expires = None
    if row["expires"]:
        try:
            day = date.fromisoformat(row["expires"])
        except ValueError:
            raise RowError(f"invalid date {row['expires']!r} (YYYY-MM-DD)") from None
        expires = timezone.make_aware(datetime.combine(day, time(23, 59, 59)))
    Delegation.objects.update_or_create(
        person=person_ref(row["person"]),
        mailbox=mailbox,
        revoked_at=None,
        defaults={"role": role, "expires_at": expires},
    )


IMPORTERS: dict[str, Callable[[dict[str, str]], None]] = {
    "structure": import_structure,
    "manager": import_manager,
    "mailbox": import_mailbox,
    "delegation": import_delegation,
}


def import_csv(lines: Iterable[str]) -> int:
    """Apply every row or none: ImportFailed lists each bad line. Returns the rows applied."""
    reader = csv.DictReader(lines)
    missing = set(COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ImportFailed([f"line 1: missing column(s) {', '.join(sorted(missing))}"])
    errors, count = [], 0
    with transaction.atomic():
        for row in reader:
            clean = {key: (row.get(key) or "").strip() for key in COLUMNS}
            importer = IMPORTERS.get(clean["record"])
            try:
                if importer is None:
                    raise RowError(f"unknown record type {clean['record']!r}")
                with transaction.atomic():  # a failed row must not poison the others' check
                    importer(clean)
                count += 1
            except RowError as exc:
                errors.append(f"line {reader.line_num}: {exc}")
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ImportFailed(errors)
    return count
