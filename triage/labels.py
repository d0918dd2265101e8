"""Labels and IMAP keywords kept in step both ways (RFC 3501 flag-keyword), so other mail
clients see a conversation's labels and a label they set is the conversation's too:
- a message that joins a labelled conversation gets the labels' keywords (the sync's
  messages_indexed hook, mailboxes.actions.messages.do_add_keywords: one session per folder);
- a keyword another client set on a message becomes its conversation's label, for the names
  triage knows (the labels already used in the mailbox: never $MDNSent, NonJunk, $label1...).
  Only additions are read back: a label whose keyword could not be cleared or set (operator
  away) must not be undone by the next sync."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from mailboxes.actions import messages as message_actions
from mailboxes.models import Folder, Mailbox, MessageIndex
from triage import queries
from triage.actions import LABEL, MAX_LABELS, audited, changed
from triage.models import Conversation, Event


def mirror_new(mailbox: Mailbox, folder: Folder, messages: list[MessageIndex]) -> None:
    """The new messages of labelled conversations get the labels they lack as keywords."""
    keys = {m.thread_key for m in messages if m.thread_key}
    if not keys:
        return
    labelled = dict(
        Conversation.objects.filter(mailbox=mailbox, thread_key__in=keys)
        .exclude(labels=[])
        .values_list("thread_key", "labels")
    )
    by_keyword: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        for label in labelled.get(message.thread_key, []):
            if label not in message.keywords:
                by_keyword[label].append(message.uid)
    if by_keyword:
        message_actions.do_add_keywords(None, mailbox, folder.name, dict(by_keyword))


def read_back(mailbox: Mailbox, keywords: dict[str, set[str]]) -> int:
    """Keywords seen on messages, by conversation: those that are labels known in the
    mailbox become the conversation's labels, in its history (no actor: another mail client
    did it) and the audit trail. Returns how many labels were added."""
    wanted = {key: words for key, words in keywords.items() if key and words}
    known = set(queries.labels_in(mailbox)) if wanted else set()
    wanted = {key: words & known for key, words in wanted.items() if words & known}
    if not wanted:
        return 0
    added = 0
    with transaction.atomic():
        rows = Conversation.objects.select_for_update().filter(
            mailbox=mailbox, thread_key__in=list(wanted)
        )
        for conversation in rows:
            added += _labelled(mailbox, conversation, wanted[conversation.thread_key])
    return added


def _labelled(mailbox: Mailbox, conversation: Conversation, words: Iterable[str]) -> int:
    new = [w for w in sorted(words) if w not in conversation.labels and LABEL.match(w)]
    new = new[: max(MAX_LABELS - len(conversation.labels), 0)]
    if not new:
        return 0
    conversation.labels = [*conversation.labels, *new]
    changed(conversation, "labels")
    for label in new:
        Event.objects.create(conversation=conversation, kind=Event.Kind.LABELLED, value=label)
        target = f"{conversation.thread_key} +{label} imap"
        audited(None, "triage.label", mailbox, target, None)
    return len(new)


def keywords_of(messages: Iterable[MessageIndex]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for message in messages:
        if message.thread_key and message.keywords:
            found[message.thread_key].update(message.keywords)
    return dict(found)


def on_keywords_changed(mailbox: Mailbox, folder: Folder, keywords: dict[int, list[str]]) -> None:
    """Keywords of cached messages changed at the operator: read back as labels."""
    known = set(queries.labels_in(mailbox))
    tagged = {uid: set(words) & known for uid, words in keywords.items()}
    tagged = {uid: words for uid, words in tagged.items() if words}
    if not tagged:
        return
    by_thread: dict[str, set[str]] = defaultdict(set)
    rows = MessageIndex.objects.filter(folder=folder, uid__in=list(tagged)).exclude(thread_key="")
    for uid, thread_key in rows.values_list("uid", "thread_key"):
        by_thread[thread_key] |= tagged[uid]
    read_back(mailbox, dict(by_thread))
