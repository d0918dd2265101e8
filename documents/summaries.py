"""Package summaries cached per message part (CONFORMANCE.md XDM-R2): computed once, when the
message is first opened, then read back by the reader and by the document search."""

from __future__ import annotations

import hashlib
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet

from documents import package
from documents.models import StoredSummary
from mailboxes.mailcache import live
from mailboxes.mailcache.search import searchable, terms
from mailboxes.models import Folder, Mailbox, MessageIndex, direct

logger = logging.getLogger(__name__)


def summary_for(
    mailbox: Mailbox, folder: str, uid: int, index: int, payload: bytes
) -> package.PackageSummary:
    """The cached summary of this part, else read now and stored."""
    uidvalidity = (
        Folder.objects.filter(mailbox=mailbox, name=folder)
        .values_list("uidvalidity", flat=True)
        .first()
    )
    if not uidvalidity:
        return summarise(payload)  # a folder the cache does not know yet: nothing to key on
    identity = {
        "mailbox": mailbox,
        "folder": folder,
        "uidvalidity": uidvalidity,
        "uid": uid,
        "part_index": index,
        "part_sha256": hashlib.sha256(payload).hexdigest(),
    }
    stored = StoredSummary.objects.filter(**identity).values_list("summary", flat=True).first()
    if stored is not None:
        return package.from_dict(stored)
    summary = summarise(payload)
    try:
        with transaction.atomic():
            StoredSummary.objects.create(**identity, **search_fields(summary))
    except IntegrityError:
        return summary  # another request stored the same summary first
    # Once committed: a list drawn before would otherwise be cached again without it.
    transaction.on_commit(lambda: live.summarised(mailbox.pk))
    return summary


def search_fields(summary: package.PackageSummary) -> dict[str, object]:
    patient = summary.patient
    names = f"{patient.birth_name} {patient.given}" if patient else ""
    types = " ".join(f"{d.type_code} {d.type_display} {d.title}" for d in summary.documents)
    return {
        "summary": package.as_dict(summary),
        "patient_words": searchable(names)[:300],
        "ins": (patient.ins.upper() if patient else "")[:32],
        "type_words": searchable(types)[:1000],
    }


def summarise(payload: bytes) -> package.PackageSummary:
    """package.read, with a last wall: a bug of ours on a strange package is logged (no
    content) and shown as "illisible", never a 500."""
    try:
        return package.read(payload)
    except Exception:
        logger.exception("XDM package summary failed")
        return package.PackageSummary(error="unreadable")


def search(mailboxes: QuerySet[Mailbox], query: str, limit: int = 100) -> list[StoredSummary]:
    """Packages about a patient (birth name, first name, INS) or of a document type, in these
    mailboxes, whose message the cache still holds (same folder, UIDVALIDITY and UID)."""
    words = terms(query)
    if not words:
        return []
    present = MessageIndex.objects.filter(
        folder__mailbox=OuterRef("mailbox"),
        folder__name=OuterRef("folder"),
        folder__uidvalidity=OuterRef("uidvalidity"),
        uid=OuterRef("uid"),
    )
    found = (
        StoredSummary.objects.in_mailboxes(mailboxes)
        .matching(words)
        .filter(Exists(present))
        .select_related("mailbox")
        .order_by("-created")
    )
    return list(found[:limit])


def lines(folder: Folder, uids: list[int]) -> dict[int, str]:
    """The line a list shows under a message with documents: patient and document types."""
    found: dict[int, str] = {}
    if not uids:
        return found
    # SQL of our own (models.direct): the ORM took twice as long as the query (issue 16).
    marks = ", ".join(["%s"] * len(uids))
    stored = direct.rows(
        StoredSummary,
        f"t.mailbox_id = %s AND t.folder = %s AND t.uidvalidity = %s AND t.uid IN ({marks})",
        [folder.mailbox_id, folder.name, folder.uidvalidity, *uids],
        names=("uid", "summary"),
    )
    for row in stored:
        uid, summary = row.uid, package.from_dict(row.summary)
        patient = summary.patient
        who = f"{patient.birth_name} {patient.given}".strip() if patient else ""
        kinds = list(dict.fromkeys(d.type_display or d.title for d in summary.documents))
        line = " — ".join(p for p in (who, ", ".join(k for k in kinds[:3] if k)) if p)
        if line:
            found[uid] = f"{found[uid]} · {line}" if uid in found else line
    return found
