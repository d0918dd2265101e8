"""Incremental sync: the operator's IMAP state -> Folder, MessageIndex and MessageText rows.

Per folder (STACK-NOTES §2, RFC 7162):
- Nothing at all when STATUS shows the same UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ.
- QRESYNC when the server offers it and we know the folder: one EXAMINE tells what vanished
  and whose flags changed since our HIGHESTMODSEQ; new mail is UID SEARCH above our highest.
- Otherwise UID SEARCH ALL diffed with the cache, and flags CHANGEDSINCE (CONDSTORE) or all.
- A UIDVALIDITY change drops the folder's rows and rebuilds it.
New messages are indexed in chunks, each committed with its rows, so a long first sync shows
its progress and a crash resumes where it stopped. A folder met for the first time is filled
newest first (issue 16: page 1 of a 100,000-message INBOX is right after its first chunk,
not after the whole folder), every new folder getting its newest chunk before any is
backfilled; a rerun after a crash diffs the whole UID set, so the order is free there. New
mail found by QRESYNC is indexed oldest first: that path resumes from the highest UID cached,
which must then be the end of a contiguous run. The folder's new state is saved last, with
the flag changes, in one transaction: until then a rerun asks the server again from the old
state.
imapclient 4.x refuses `1:*` sequence sets, so UIDs are always passed explicitly.
What a row holds, and how it is read from the fetched data, is mailboxes.mailcache.indexing's business.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Max
from django.utils import timezone
from imapclient.response_parser import parse_fetch_response

from mailboxes import audit, hooks, signals
from mailboxes.mailcache import indexing, live, search
from mailboxes.models import AuditEvent, Folder, Mailbox, MessageIndex, MessageText, SyncState
from mailboxes.operator import imap
from mailboxes.operator.imap import uid_set

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from imapclient import IMAPClient

logger = logging.getLogger(__name__)

CHUNK = 500


@dataclass
class FolderResult:
    name: str
    added: int = 0
    removed: int = 0
    changed: int = 0
    rebuilt: bool = False
    qresync: bool = False


def chunk_size() -> int:
    return CHUNK


def chunks(items: list[int], size: int | None = None) -> Iterator[list[int]]:
    size = size or chunk_size()
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Download:
    """One chunk as the operator sent it: first-pass data, structures, raw text parts."""

    uids: list[int]
    fetched: dict[int, dict[bytes, Any]]
    structures: dict[int, indexing.Structure]
    texts: dict[int, bytes]


def download(client: IMAPClient, uids: list[int]) -> Download:
    """The IMAP half of indexing a chunk: the first pass, then the first indexing.TEXT_BYTES of each
    message's text part, one FETCH per distinct section (not per message)."""
    fetched = client.fetch(uids, indexing.FIRST_PASS)
    structures = {
        uid: indexing.structure_of(data.get(b"BODYSTRUCTURE")) for uid, data in fetched.items()
    }
    by_section: dict[str, list[int]] = defaultdict(list)
    for uid, structure in structures.items():
        if structure.text:
            by_section[structure.text.section].append(uid)
    texts: dict[int, bytes] = {}
    for section, members in by_section.items():
        item = f"BODY.PEEK[{section}]<0.{indexing.TEXT_BYTES}>".encode()
        key = f"BODY[{section}]<0>".encode()
        for uid, data in client.fetch(members, [item]).items():
            texts[uid] = data.get(key) or b""
    return Download(uids, fetched, structures, texts)


@dataclass
class Added:
    """What fetch_new indexed: how many, and which carry health documents. Not the rows
    themselves: kept for a 100,000-message first sync they cost the worker 130 MiB."""

    count: int = 0
    with_documents: list[int] = field(default_factory=list)


def downloads(pool: ThreadPoolExecutor, client: IMAPClient, uids: list[int]) -> Iterator[Download]:
    """The chunks of `uids` as the operator sends them, in order, the next one downloading
    (in `pool`'s one thread, the only one using the connection meanwhile) while the caller
    stores this one: the operator's and PostgreSQL's time overlap our parsing instead of
    adding to it. An error comes with the chunk it hit. The caller's `with pool` waits for
    a download still running before anything else uses the connection."""
    parts = list(chunks(uids))
    if not parts:
        return
    pending = pool.submit(download, client, parts[0])
    for following in [*parts[1:], None]:
        chunk = pending.result()
        if following is not None:
            pending = pool.submit(download, client, following)
        yield chunk


def fetch_new(client: IMAPClient, folder: Folder, uids: list[int]) -> Added:
    """Index `uids` in the order given, a chunk per transaction, with their text for search."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-download") as pool:
        added = store_chunks(folder, downloads(pool, client, uids))
    return added


def store_chunks(folder: Folder, downloaded: Iterator[Download]) -> Added:
    """Index and commit each chunk in turn (fetch_new)."""
    added = Added()
    for chunk in downloaded:
        built = [
            indexing.row(folder, uid, chunk.fetched[uid], chunk.structures[uid])
            for uid in chunk.uids
            if uid in chunk.fetched
        ]
        texts = indexing.index_texts(built, chunk.texts)
        join_threads(folder.mailbox, [message for message, _ in built])
        with transaction.atomic():
            stored = store(folder, [message for message, _ in built])
            search.store({stored[uid]: text for uid, text in texts.items() if uid in stored})
            SyncState.objects.filter(mailbox=folder.mailbox).update(done=F("done") + len(built))
        live.progress(folder.mailbox_id)  # pages showing the progress redraw
        rows = [message for message, _ in built]
        added.count += len(rows)
        added.with_documents += [row.uid for row in rows if row.has_xdm]
        indexed_hooks(folder, rows)
    return added


def indexed_hooks(folder: Folder, rows: list[MessageIndex]) -> None:
    """Tell the feature apps (mailboxes.signals): the rows are committed, so a receiver
    that fails loses no mail; it is logged, and the sync goes on."""
    answers = signals.messages_indexed.send_robust(
        Mailbox, mailbox=folder.mailbox, folder=folder, messages=rows
    )
    for receiver, answer in answers:
        if isinstance(answer, Exception):
            logger.error("messages_indexed receiver %s failed: %r", receiver, type(answer))


def keywords_hooks(folder: Folder, keywords: dict[int, list[str]]) -> None:
    """Tell the feature apps of keywords set elsewhere (mailboxes.signals.keywords_changed):
    committed already; a receiver's failure is logged and the sync goes on."""
    answers = signals.keywords_changed.send_robust(
        Mailbox, mailbox=folder.mailbox, folder=folder, keywords=keywords
    )
    for receiver, answer in answers:
        if isinstance(answer, Exception):
            logger.error("keywords_changed receiver %s failed: %r", receiver, type(answer))


def copy_rows(messages: list[MessageIndex]) -> None:
    """PostgreSQL's COPY, with keys drawn from the table's sequence first: a third of the
    time of INSERT ... RETURNING for the same rows (benchmarks/)."""
    if not messages:
        return
    meta = MessageIndex._meta
    fields = meta.concrete_fields
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [meta.db_table, len(messages)],
        )
        for message, (pk,) in zip(messages, cursor.fetchall(), strict=True):
            message.pk = pk
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        table = connection.ops.quote_name(meta.db_table)
        getters = [
            (lambda m, name=field.attname: json.dumps(getattr(m, name)))
            if isinstance(field, models.JSONField)
            else attrgetter(field.attname)
            for field in fields
        ]  # plain values: psycopg adapts them; JSON goes as its text
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for message in messages:
                copy.write_row([get(message) for get in getters])


def store(folder: Folder, messages: list[MessageIndex]) -> dict[int, int]:
    """Insert the rows; their primary keys by UID. The UIDs are new to the cache (we hold
    the mailbox's lock), so the database hands the keys back with the insert; should a row
    exist after all (a lock that expired under a very long sync), the slow path skips it."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                copy_rows(messages)
            else:
                MessageIndex.objects.bulk_create(messages, batch_size=CHUNK)
    except IntegrityError:
        MessageIndex.objects.bulk_create(messages, ignore_conflicts=True, batch_size=CHUNK)
        uids = [message.uid for message in messages]
        return dict(folder.index.filter(uid__in=uids).values_list("uid", "pk"))
    return {message.uid: message.pk for message in messages}


def join_threads(mailbox: Mailbox, messages: list[MessageIndex]) -> None:
    """A reply whose References start at a message we index under another key (its own
    parent was a reply without References) joins that message's conversation."""
    roots = {m.thread_key for m in messages if m.thread_key != m.message_id}
    if not roots:
        return
    known = dict(
        MessageIndex.objects.filter(folder__mailbox=mailbox, message_id__in=roots)
        .exclude(thread_key="")
        .values_list("message_id", "thread_key")
    )
    for message in messages:
        message.thread_key = known.get(message.thread_key, message.thread_key)


def deleted(rows: QuerySet[MessageIndex]) -> int:
    """Delete rows and their text; how many messages that was. Two DELETE statements, never
    the ORM's collector, which would load every row first (a rebuilt folder of 100,000)."""
    try:
        sql, params = rows.values("pk").query.sql_with_params()
    except EmptyResultSet:  # e.g. uid__in=[]: nothing to delete
        return 0
    with transaction.atomic():
        MessageText.objects.filter(message__in=rows.values("pk")).delete()  # no dependants
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM mailboxes_messageindex WHERE id IN ({sql})", params)  # noqa: S608
            return int(cursor.rowcount)


def examine_qresync(
    client: IMAPClient, folder: Folder
) -> tuple[dict[bytes, Any], list[int], dict[int, Any]]:
    """EXAMINE with QRESYNC (RFC 7162 §3.2.5): the folder's state, the UIDs vanished since
    our HIGHESTMODSEQ and the flags of messages changed since. imapclient 4.1 has no API for
    it (STACK-NOTES §2): a raw command, and imaplib's untagged responses read directly."""
    untagged = client._imap.untagged_responses
    untagged.clear()
    argument = f"(QRESYNC ({folder.uidvalidity} {folder.highestmodseq}))".encode()
    typ, data = client._raw_command(
        b"EXAMINE", [client._normalise_folder(folder.name), argument], uid=False
    )
    client._checkok("examine", typ, data)
    client._imap.state, client._imap.is_readonly = "SELECTED", True
    vanished: list[int] = []
    for line in untagged.pop("VANISHED", []):
        text = line.decode() if isinstance(line, bytes) else str(line)
        vanished.extend(uid_set(text.replace("(EARLIER)", "").strip()))
    fetch_lines = untagged.pop("FETCH", [])
    changed = parse_fetch_response(fetch_lines, normalise_times=False) if fetch_lines else {}
    state = client._process_select_response(untagged)
    flags = {uid: indexing.flag_fields(d.get(b"FLAGS", ())) for uid, d in changed.items()}
    return state, vanished, flags


def unchanged(client: IMAPClient, folder: Folder) -> bool:
    """STATUS says nothing happened since our last sync (same UIDVALIDITY, UIDNEXT and
    HIGHESTMODSEQ): read from the folder's index header, so as cheap on 100,000 messages
    as on 10, where even a QRESYNC EXAMINE walks every message's modseq."""
    status = client.folder_status(folder.name, [b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ"])
    return (
        int(status.get(b"UIDVALIDITY", -1)) == folder.uidvalidity
        and int(status.get(b"UIDNEXT", -1)) == folder.uidnext
        and int(status.get(b"HIGHESTMODSEQ", -1)) == folder.highestmodseq
    )


def sync_folder(
    client: IMAPClient, folder: Folder, modes: set[str], head: Added | None = None
) -> FolderResult:
    """Bring one folder up to date; `head`: what head_start indexed of it already."""
    result = FolderResult(folder.name)
    if "CONDSTORE" in modes and folder.highestmodseq and unchanged(client, folder):
        Folder.objects.filter(pk=folder.pk).update(
            special_use=folder.special_use, synced_at=timezone.now()
        )
        return result
    quick = "QRESYNC" in modes and folder.uidvalidity and folder.highestmodseq
    if quick:
        state, vanished, changes = examine_qresync(client, folder)
    else:
        state, vanished, changes = client.select_folder(folder.name, readonly=True), [], {}
    uidvalidity = int(state[b"UIDVALIDITY"])
    modseq = int(state.get(b"HIGHESTMODSEQ", 0) or 0) if "CONDSTORE" in modes else 0
    rebuilt = folder.uidvalidity != uidvalidity
    if rebuilt:
        quick = False
        with transaction.atomic():
            result.rebuilt = bool(folder.uidvalidity)
            result.removed = deleted(folder.index.all())
            folder.uidvalidity, folder.highestmodseq = uidvalidity, 0
            folder.save(update_fields=["uidvalidity", "highestmodseq"])
    result.qresync = bool(quick)
    if quick:
        highest = folder.index.aggregate(top=Max("uid"))["top"] or 0
        new = sorted(uid for uid in client.search(["UID", f"{highest + 1}:*"]) if uid > highest)
        result.removed += deleted(folder.index.filter(uid__in=vanished))
        # Messages above `highest` are fetched whole below, with fresher flags.
        changes = {uid: fields for uid, fields in changes.items() if uid <= highest}
    else:
        server_uids = set(client.search(["ALL"]))
        known = set(folder.index.values_list("uid", flat=True))
        new = sorted(server_uids - known, reverse=True)  # newest first: page 1 fills first
        result.removed += deleted(folder.index.filter(uid__in=known - server_uids))
        changes = flag_changes(client, folder, sorted(known & server_uids), modseq)
    if new:
        SyncState.objects.filter(mailbox=folder.mailbox).update(total=F("total") + len(new))
    added = fetch_new(client, folder, new)
    if head is not None:
        added.count += head.count
        added.with_documents += head.with_documents
    result.added = added.count
    with transaction.atomic():
        result.changed += apply_flags(folder, changes)
        folder.uidvalidity, folder.uidnext = uidvalidity, int(state.get(b"UIDNEXT", 0) or 0)
        folder.highestmodseq = modseq
        folder.messages = int(state.get(b"EXISTS", 0) or 0)
        if result.added or result.removed or result.changed or rebuilt:
            folder.unseen = folder.index.filter(seen=False).count()
        folder.synced_at = timezone.now()
        folder.save()
    tagged = {uid: fields["keywords"] for uid, fields in changes.items() if fields["keywords"]}
    if tagged:
        keywords_hooks(folder, tagged)
    if added.with_documents:
        hooks.notify_indexed(folder, added.with_documents)  # documents summarises them (XDM-R2)
    return result


def head_start(client: IMAPClient, folder: Folder) -> Added:
    """A folder never synced: its newest chunk now, before any folder is backfilled (the
    rest comes with sync_folder, which diffs the UIDs). Its UIDVALIDITY and size are saved
    at once, so the list says "1–50 sur 100 000" while the backfill runs."""
    state = client.select_folder(folder.name, readonly=True)
    validity = int(state[b"UIDVALIDITY"])
    if folder.uidvalidity != validity:
        if folder.uidvalidity:
            return Added()  # a rebuild: sync_folder's business
        folder.uidvalidity = validity
    folder.messages = int(state.get(b"EXISTS", 0) or 0)
    Folder.objects.filter(pk=folder.pk).update(uidvalidity=validity, messages=folder.messages)
    known = set(folder.index.values_list("uid", flat=True))
    newest = sorted(set(client.search(["ALL"])) - known, reverse=True)[: chunk_size()]
    if not newest:
        return Added()
    SyncState.objects.filter(mailbox=folder.mailbox).update(total=F("total") + len(newest))
    return fetch_new(client, folder, newest)


FLAG_FIELDS = ("seen", "flagged", "answered", "keywords")


def apply_flags(folder: Folder, changes: dict[int, dict[str, Any]]) -> int:
    """Store the operator's flags; how many rows they changed. Only rows that differ: our own
    change (a message opened, flagged) comes back from the operator as a flag change, and
    must not redraw every open list again. Compared here, a few thousand rows a query, and
    written one UPDATE per distinct set of flags (the first sync's head start had cost one
    UPDATE per message, 500 a folder, that changed nothing)."""
    different: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    uids = list(changes)
    for part in chunks(uids, 5000):
        stored = {
            uid: values
            for uid, *values in folder.index.filter(uid__in=part).values_list("uid", *FLAG_FIELDS)
        }
        for uid in part:
            fields = changes[uid]
            wanted = [fields[name] for name in FLAG_FIELDS]
            if uid in stored and stored[uid] != wanted:
                different[tuple(json.dumps(v) for v in wanted)].append(uid)
    changed = 0
    for values, members in different.items():
        fields = dict(zip(FLAG_FIELDS, (json.loads(v) for v in values), strict=True))
        for part in chunks(members, 5000):
            changed += folder.index.filter(uid__in=part).update(**fields)
    return changed


def flag_changes(
    client: IMAPClient, folder: Folder, uids: list[int], modseq: int
) -> dict[int, dict[str, Any]]:
    """New flags of known messages: only those changed since the stored HIGHESTMODSEQ when
    the server has CONDSTORE (RFC 7162), else all of them compared with ours."""
    if not uids or (modseq and modseq == folder.highestmodseq):
        return {}
    modifiers = (
        [f"CHANGEDSINCE {folder.highestmodseq}"] if modseq and folder.highestmodseq else None
    )
    changes = {}
    for part in chunks(uids, 5000):
        for uid, data in client.fetch(part, [b"FLAGS"], modifiers=modifiers).items():
            changes[uid] = indexing.flag_fields(data.get(b"FLAGS", ()))
    return changes


def sync_mailbox(
    mailbox: Mailbox, use_qresync: bool = True, only: str | None = None
) -> list[FolderResult]:
    """Bring every selectable folder of the mailbox up to date, in one IMAP session.
    Progress and the outcome are kept in the mailbox's SyncState for the pages.
    `only`: that folder alone, known to the cache already (no LIST, no other folder
    touched): what the IDLE watcher asks when the operator says the INBOX changed."""
    results: list[FolderResult] = []
    found_folder = False  # a folder new to the cache: the pages' folder lists move
    SyncState.objects.update_or_create(
        mailbox=mailbox, defaults={"started_at": timezone.now(), "done": 0, "total": 0}
    )
    try:
        with imap.pooled_session(mailbox, purpose="sync") as client:
            client.normalise_times = False  # INTERNALDATE with its zone
            modes = {c.decode() for c in client.capabilities()} & {"CONDSTORE", "QRESYNC"}
            if not use_qresync:
                modes.discard("QRESYNC")
            if modes:
                client.enable(*sorted(modes))
            listed = []
            for flags, _, name in [] if only else client.list_folders():
                if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                    continue
                folder, created = Folder.objects.get_or_create(mailbox=mailbox, name=str(name))
                found_folder = found_folder or created
                folder.special_use = imap.special_use(flags)  # saved with the folder's state
                listed.append(folder)
            if only:
                listed = list(Folder.objects.filter(mailbox=mailbox, name=only))
            listed.sort(key=lambda folder: folder.name != "INBOX")  # the INBOX first
            seen_names = [folder.name for folder in listed]
            new_folders = [folder for folder in listed if not folder.synced_at]
            heads = (
                {folder.pk: head_start(client, folder) for folder in new_folders}
                if len(new_folders) > 1
                else {}
            )
            results.extend(
                sync_folder(client, folder, modes, heads.get(folder.pk)) for folder in listed
            )
    except Exception as exc:
        SyncState.objects.filter(mailbox=mailbox).update(
            error=str(exc)[:200], error_at=timezone.now()
        )
        live.progress(mailbox.pk)  # the page says the operator is unreachable
        audit.record(
            None,
            "mailbox.sync",
            mailbox=mailbox,
            outcome=AuditEvent.Outcome.ERROR,
            response=str(exc),
        )
        raise
    gone = 0
    if not only:  # LIST said which folders there are
        gone, _ = Folder.objects.filter(mailbox=mailbox).exclude(name__in=seen_names).delete()
    SyncState.objects.filter(mailbox=mailbox).update(finished_at=timezone.now(), error="")
    if sum(result.added for result in results) >= ANALYZE_AFTER:
        refresh_statistics()
    if found_folder or gone or any(r.added or r.removed or r.changed or r.rebuilt for r in results):
        live.bump(mailbox.pk)  # open pages redraw (cache.places is kept per version)
    return results


ANALYZE_AFTER = 5000


def refresh_statistics() -> None:
    """After a big first sync, fresh planner statistics now rather than at autovacuum's next
    round: with a table it believes small, PostgreSQL sorts the whole folder for a page
    (85 ms instead of 2 at 100,000 messages, benchmarks/). VACUUM too: it sets the
    visibility map, without which a jump to page 1,000 or a page's position ("51–100 sur
    100 000") reads every skipped row instead of the index alone (issue 16). Not inside a
    transaction (VACUUM refuses): the sync commits its chunks as it goes."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) mailboxes_messageindex, mailboxes_messagetext")
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE mailboxes_messageindex, mailboxes_messagetext")
