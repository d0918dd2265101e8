"""Hooks through which the domain tells the feature apps what happened, without knowing them
(ARCHITECTURE.md: mailboxes never imports triage, documents or directory). The apps connect
their receivers in their AppConfig.ready()."""

from __future__ import annotations

from django.dispatch import Signal

# New messages entered the cache (sender: the Mailbox class). Keyword arguments: `mailbox`,
# `folder` (a Folder) and `messages` (the MessageIndex rows just stored, committed). Sent by
# the sync after each chunk's transaction, so a receiver's failure never loses mail.
messages_indexed = Signal()

# A person's delegation on a mailbox was revoked or changed (sender: the Delegation class).
# Keyword arguments: `delegation`, `actor` (who did it), `request` (or None). Sent inside the
# action's transaction: what a receiver writes commits, or rolls back, with the change.
delegation_changed = Signal()

# A message was put in the outbox (sender: the Outgoing class). Keyword arguments:
# `outgoing`, `action` (its audit action: "message.queue", "mdn.send"...) and `message` (the
# email.message.Message as built: its In-Reply-To and References say which conversation it
# answers). Sent inside the action's transaction.
message_queued = Signal()

# Keywords of messages already cached changed at the operator (another mail client tagged
# them), seen by the sync (sender: the Mailbox class). Keyword arguments: `mailbox`,
# `folder` (a Folder) and `keywords` ({UID: its keywords now}, only messages that carry
# some). Sent after the folder's changes are committed.
keywords_changed = Signal()
