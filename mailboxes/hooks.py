"""Where the feature apps plug into the domain, which never imports them (ARCHITECTURE.md):
each registers its hooks in its AppConfig.ready()."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailboxes.models import Folder, Mailbox, User

logger = logging.getLogger(__name__)


class Refused(Exception):
    """A hook refuses the message; str() is the sentence shown to the person (translated)."""


# Called on a draft about to be built and queued, in order: a hook may change the draft
# (documents: CDA files become an IHE XDM package, headers and subject) or raise Refused.
# The draft is a mailboxes.actions.outbox.Draft (not imported: mailcache imports this module,
# and the layers keep it below the actions).
BeforeQueue = Callable[["User", "Mailbox", Any], None]
before_queue: list[BeforeQueue] = []


def register_before_queue(hook: BeforeQueue) -> None:
    if hook not in before_queue:
        before_queue.append(hook)


# Called after a sync indexed new messages of a folder that carry health documents (their
# UIDs), once the rows are stored: documents summarises them in the background (XDM-R2).
MessagesIndexed = Callable[["Folder", list[int]], None]
messages_indexed: list[MessagesIndexed] = []


def register_messages_indexed(hook: MessagesIndexed) -> None:
    if hook not in messages_indexed:
        messages_indexed.append(hook)


def notify_indexed(folder: Folder, uids: list[int]) -> None:
    """Run the hooks; a feature's failure is logged (its type only) and never stops a sync."""
    for hook in messages_indexed:
        try:
            hook(folder, uids)
        except Exception as exc:
            logger.warning("hooks: messages_indexed failed (%s)", type(exc).__name__)
