"""The metadata cache: folders and messages as last synced from the operator.

Lists, counts, conversations and search read these tables; bodies stay at the operator.
The cache holds health data (subjects, people, text excerpts): it lives in the same database
as everything else and is never logged.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from mailboxes import locks
from mailboxes.models.mailboxes import Mailbox


class SyncState(models.Model):
    """How the last sync of a mailbox went: progress of a running one, the last error."""

    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="sync_state")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)  # messages indexed by the running sync
    total = models.PositiveIntegerField(default=0)  # messages it has to index
    error = models.CharField(max_length=200, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.mailbox.address}: {self.done}/{self.total}"

    @property
    def running(self) -> bool:
        """Started, not finished, and its sync lock held: the sync renews the lock every
        third of WEBMAIL_SYNC_LOCK_SECONDS, so a worker killed mid-sync shows as stopped
        within that time (a minute), not after a guess at the longest sync (issue 17)."""
        if not self.started_at or (self.finished_at and self.finished_at >= self.started_at):
            return False
        return locks.sync_held(self.mailbox_id)

    @property
    def failing(self) -> bool:
        """The last attempt failed: the operator could not be reached or refused us."""
        return bool(
            self.error
            and self.error_at
            and (not self.finished_at or self.error_at >= self.finished_at)
        )

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0


class Folder(models.Model):
    """A mailbox folder as last synced: IMAP state (RFC 3501/7162) and counts."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=500)
    special_use = models.CharField(max_length=16, blank=True)
    uidvalidity = models.BigIntegerField(default=0)
    uidnext = models.BigIntegerField(default=0)
    highestmodseq = models.BigIntegerField(default=0)  # 0: unknown or no CONDSTORE
    messages = models.PositiveIntegerField(default=0)
    unseen = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["mailbox", "name"], name="folder_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox.address}/{self.name}"


class MessageIndex(models.Model):
    """What lists, conversations and search need of one message, kept in step with the
    operator. (folder, uid) is the identity within a UIDVALIDITY."""

    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="index")
    uid = models.BigIntegerField()
    message_id = models.CharField(max_length=250, blank=True, db_index=True)
    # The conversation: the first Message-ID of References (or In-Reply-To, or its own).
    thread_key = models.CharField(max_length=250, blank=True, db_index=True)
    # The Date header, or the arrival time when it is missing or unreadable (as IMAP SORT).
    date = models.DateTimeField()
    sender_name = models.CharField(max_length=200, blank=True)
    sender_address = models.CharField(max_length=254, blank=True)
    recipients = models.TextField(blank=True)
    subject = models.CharField(max_length=500, blank=True)
    preview = models.CharField(max_length=200, blank=True)
    seen = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)
    keywords = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=0)
    has_attachments = models.BooleanField(default=False)
    has_xdm = models.BooleanField(default=False)  # IHE XDM documents (IHE_XDM.ZIP, CDA)
    # X-MSS-MES: FIN (HDR-IN, CONF.21): a message to a patient who cannot reply; the Sent
    # list says so. Rows indexed before this column read False until the folder resyncs.
    reply_closed = models.BooleanField(default=False)
    # French sort keys of what the list shows (mailcache/collation.py), compared byte-wise.
    sort_sender = models.CharField(max_length=255, blank=True, default="")
    sort_subject = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["folder", "uid"], name="index_unique_uid")
        ]
        indexes: ClassVar = [
            models.Index(fields=["folder", "-date", "-uid"]),
            models.Index(fields=["folder", "sort_sender", "uid"], name="index_sort_sender"),
            models.Index(fields=["folder", "sort_subject", "uid"], name="index_sort_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.folder_id}:{self.uid}"


class MessageText(models.Model):
    """Searchable text of one message: subject, people and body text, lower-cased and
    without accents. Indexed by the database's full-text engine (migration 0002):
    PostgreSQL tsvector + GIN, SQLite FTS5."""

    message = models.OneToOneField(
        MessageIndex, on_delete=models.CASCADE, primary_key=True, related_name="text"
    )
    body = models.TextField()

    def __str__(self) -> str:
        return str(self.message_id)
