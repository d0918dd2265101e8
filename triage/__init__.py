"""Shared-mailbox triage: assignment, status, notes, labels, presence, saved replies.
State is keyed by (mailbox, conversation), never by a foreign key to the message cache.
Depends on mailboxes, never the reverse."""
