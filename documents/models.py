"""Summaries of received health-document packages (CONFORMANCE.md XDM-R2).

Keyed by the message's identity in its mailbox - (mailbox, folder, UIDVALIDITY, UID, part
index, SHA-256 of the part) - never by a foreign key to the message cache: the sync replaces
those rows in bulk. A new UIDVALIDITY makes the old rows unreachable (they are ignored).
They hold health data (patient names, INS) as the message cache does: same database, same
protection; never logged, never audited.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q, QuerySet

from mailboxes.models import Mailbox


class StoredSummaryQuerySet(models.QuerySet["StoredSummary"]):
    def in_mailboxes(self, mailboxes: QuerySet[Mailbox]) -> StoredSummaryQuerySet:
        """Summaries of the messages of these mailboxes (the person's readable ones)."""
        return self.filter(mailbox__in=mailboxes.values("pk"))

    def matching(self, words: list[str]) -> StoredSummaryQuerySet:
        """Every word found in the patient's names, the INS or a document type (words are
        already lower-cased without accents, as `searchable` stores them)."""
        found = self
        for word in words:
            found = found.filter(
                Q(patient_words__contains=word) | Q(ins=word.upper()) | Q(type_words__contains=word)
            )
        return found


class StoredSummary(models.Model):
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+")
    folder = models.CharField(max_length=500)
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    part_index = models.IntegerField()
    part_sha256 = models.CharField(max_length=64)
    summary = models.JSONField()  # documents.package.PackageSummary, as a dict
    patient_words = models.CharField(max_length=300, blank=True)  # birth name, given (searchable)
    ins = models.CharField(max_length=32, blank=True)
    type_words = models.CharField(max_length=1000, blank=True)  # codes and labels (searchable)
    created = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[StoredSummaryQuerySet] = StoredSummaryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["mailbox", "folder", "uidvalidity", "uid", "part_index", "part_sha256"],
                name="documents_summary_identity",
            )
        ]
        indexes: ClassVar = [models.Index(fields=["mailbox", "ins"])]

    def __str__(self) -> str:
        return f"{self.mailbox_id} {self.folder}/{self.uid} part {self.part_index}"
