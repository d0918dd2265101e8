"""A reply must not go out blind: when someone else replied to the conversation, or changed
its assignee or status, after the reply was started, sending it is stopped and the person
chooses (see what changed, send anyway, discard). The composer carries a signed Start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core import signing

from mailboxes.models import Mailbox, MessageIndex, User
from triage.models import Conversation, Event

SALT = "triage.reply-start"
# What a reply being written must not miss; a note or a label is no reason to stop it.
STOPPING = (
    Event.Kind.ASSIGNED,
    Event.Kind.UNASSIGNED,
    Event.Kind.STATUS,
    Event.Kind.REPLIED,
    Event.Kind.ACCESS_ENDED,
)


@dataclass(frozen=True)
class Start:
    thread_key: str
    version: int
    at: datetime


def thread_replied_to(mailbox: Mailbox, in_reply_to: str) -> str:
    """The conversation of the message a reply answers ("" if the cache does not know it)."""
    if not in_reply_to:
        return ""
    return (
        MessageIndex.objects.filter(folder__mailbox=mailbox, message_id=in_reply_to.strip())
        .exclude(thread_key="")
        .values_list("thread_key", flat=True)
        .first()
        or ""
    )


def start(mailbox: Mailbox, thread_key: str, at: datetime) -> str:
    """The token the composer keeps: the conversation as it was when the reply started."""
    version = (
        Conversation.objects.filter(mailbox=mailbox, thread_key=thread_key)
        .values_list("version", flat=True)
        .first()
    )
    return signing.dumps([mailbox.pk, thread_key, version or 0, at.isoformat()], salt=SALT)


def read_start(mailbox: Mailbox, token: str) -> Start | None:
    try:
        mailbox_id, thread_key, version, at = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if mailbox_id != mailbox.pk:
        return None
    return Start(str(thread_key), int(version), datetime.fromisoformat(at))


def changes_since(mailbox: Mailbox, started: Start, person: User) -> list[Event]:
    """What others did to the conversation since the reply started: empty means send."""
    conversation = Conversation.objects.filter(
        mailbox=mailbox, thread_key=started.thread_key
    ).first()
    if conversation is None or conversation.version == started.version:
        return []
    return list(
        conversation.events.filter(created__gt=started.at, kind__in=STOPPING)
        .exclude(actor=person)
        .select_related("actor")
    )
