"""The trust list (TL) and the Annuaire Santé directory (DIR)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrustedDomain(models.Model):
    """One domain of the MSSanté trust list in force (TL2, TL4). The list is replaced as a
    whole, in one transaction, when a new one is accepted (TL3)."""

    name = models.CharField(_("domain"), max_length=253, unique=True)  # A-label, lower case
    display = models.CharField(max_length=253)  # U-label, for people
    description = models.CharField(max_length=300, blank=True)
    operators = models.CharField(max_length=500, blank=True)  # the O= of each certificate

    class Meta:
        verbose_name = _("trusted domain")

    def __str__(self) -> str:
        return self.display


class TrustListLoad(models.Model):
    """Each attempt to replace the trust list, accepted or refused with its reason. The
    latest accepted one describes the list in force."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=500)
    accepted = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)  # why it was refused
    generated = models.DateTimeField(null=True, blank=True)  # its DateDeGeneration
    domains = models.PositiveIntegerField(default=0)  # distinct valid names
    skipped = models.PositiveIntegerField(default=0)  # invalid names (TL4)

    class Meta:
        verbose_name = _("trust list load")

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.source} accepted={self.accepted}"


class EntryFields(models.Model):
    """One MSSanté mailbox of the Annuaire Santé extraction (DIR2): the columns we use."""

    class Kind(models.TextChoices):
        PERSONAL = "PER", _("personal")
        ORGANISATIONAL = "ORG", _("organisational")
        APPLICATION = "APP", _("application")
        PRACTICE = "CAB", _("practice")

    address = models.CharField(max_length=254)  # lower case: the key (DIR3)
    kind = models.CharField(max_length=3, choices=Kind.choices)
    national_id = models.CharField(max_length=32, blank=True)  # RPPS 8…, ADELI 0…
    civility = models.CharField(max_length=32, blank=True)
    last_name = models.CharField(max_length=200, blank=True)
    first_name = models.CharField(max_length=200, blank=True)
    profession = models.CharField(max_length=200, blank=True)
    specialty = models.CharField(max_length=200, blank=True)
    structure_id = models.CharField(max_length=64, blank=True)
    structure = models.CharField(max_length=300, blank=True)
    service = models.CharField(max_length=300, blank=True)
    postal_code = models.CharField(max_length=16, blank=True)
    city = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=64, blank=True)
    # What is searched: the words above, lower case, without accents (DIR5). PostgreSQL adds a
    # tsvector column with a GIN index, SQLite an FTS5 table (migration 0002).
    words = models.TextField()

    class Meta:
        abstract = True


class DirectoryEntry(EntryFields):
    """The directory in force; replaced as a whole by each import (DIR3)."""

    class Meta:
        verbose_name = _("directory entry")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["address"], name="directory_entry_address")
        ]

    def __str__(self) -> str:
        return self.address


class DirectoryStaging(EntryFields):
    """An import being streamed in, before it replaces the directory in one transaction."""

    class Meta:
        verbose_name = _("directory staging row")

    def __str__(self) -> str:
        return self.address


class DirectoryImport(models.Model):
    """Each import: how many rows were read, imported and skipped, or why it was refused."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=500)
    accepted = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    read = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    red_list = models.PositiveIntegerField(default=0)  # liste rouge rows, never stored (DIR4)

    class Meta:
        verbose_name = _("directory import")

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.source} accepted={self.accepted}"
