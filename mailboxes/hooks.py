"""Where the feature apps plug into the domain, which never imports them (ARCHITECTURE.md):
each registers its hooks in its AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailboxes.actions.outbox import Draft
    from mailboxes.models import Mailbox, User


class Refused(Exception):
    """A hook refuses the message; str() is the sentence shown to the person (translated)."""


# Called on a draft about to be built and queued, in order: a hook may change the draft
# (documents: CDA files become an IHE XDM package, headers and subject) or raise Refused.
BeforeQueue = Callable[["User", "Mailbox", "Draft"], None]
before_queue: list[BeforeQueue] = []


def register_before_queue(hook: BeforeQueue) -> None:
    if hook not in before_queue:
        before_queue.append(hook)
