"""The domain: people, structures, mailboxes and the audit trail.

Mail itself stays at the operator (IMAP/SMTP); these tables say who may do what.
"""

from mailboxes.models.audit import AuditEvent
from mailboxes.models.devices import AppDevice, BackupCode, BackupCodes
from mailboxes.models.index import Folder, MessageIndex, MessageText, SyncState
from mailboxes.models.mailboxes import (
    Delegation,
    Invitation,
    Mailbox,
    MailboxCredential,
    Notification,
)
from mailboxes.models.outbox import Outgoing, Receipt
from mailboxes.models.people import Practice, Structure, User

__all__ = [
    "AppDevice",
    "AuditEvent",
    "BackupCode",
    "BackupCodes",
    "Delegation",
    "Folder",
    "Invitation",
    "Mailbox",
    "MailboxCredential",
    "MessageIndex",
    "MessageText",
    "Notification",
    "Outgoing",
    "Practice",
    "Receipt",
    "Structure",
    "SyncState",
    "User",
]
