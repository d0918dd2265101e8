"""Reading the metadata cache: folders, pages of a message list (keyset), conversations and
search; and keeping it right after our own actions, before the next sync confirms them.

Pages never wait for the operator: they show what the cache holds and ask for a sync
(mailboxes.actions.syncing), which the open page then learns about through `live.version`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache as django_cache
from django.db import connection, connections, models, router
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from mailboxes import access
from mailboxes.mail.folders import Listing
from mailboxes.mail.mime import header, headers_only
from mailboxes.mailcache import live, search, sync
from mailboxes.models import Folder, Mailbox, MessageIndex, Outgoing, Structure, SyncState, direct
from mailboxes.operator.imap import SPECIAL_USES

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet

    from mailboxes.models import User

logger = logging.getLogger(__name__)

SPECIAL_ORDER = tuple(use.decode() for use in SPECIAL_USES)  # the folder list's order
# Sender and subject sort by their French keys (collation.py): what the list shows, in the
# order a French reader expects.
SORT_FIELDS = {"date": "date", "from": "sort_sender", "subject": "sort_subject", "size": "size"}
CURSOR_SALT = "webmail.cache.cursor"
LIST_FIELDS = (
    "sort_sender",
    "sort_subject",
    "folder",  # else each row fetches its folder_id on its own (N+1)
    "uid",
    "subject",
    "sender_name",
    "sender_address",
    "recipients",  # shown instead of the sender in Sent and Drafts
    "date",
    "size",
    "seen",
    "flagged",
    "answered",
    "preview",
    "has_attachments",
    "has_xdm",
    "reply_closed",
    "thread_key",
)


def folders(mailbox: Mailbox) -> list[Folder]:
    """The cached folders: INBOX, the special ones in a fixed order, then the rest by name."""
    return sorted(direct.rows(Folder, "t.mailbox_id = %s", [mailbox.pk]), key=_folder_order)


def _folder_order(folder: Folder) -> tuple[int, str]:
    if folder.name == "INBOX":
        return (0, "")
    if folder.special_use in SPECIAL_ORDER:
        return (1 + SPECIAL_ORDER.index(folder.special_use), "")
    return (len(SPECIAL_ORDER) + 1, folder.name.lower())


def folders_and_state(mailbox: Mailbox) -> tuple[list[Folder], SyncState | None]:
    """`folders` and `state_of` in one query (every list page asks both: issue 16)."""
    connection = connections[router.db_for_read(Folder)]
    with connection.cursor() as cursor:
        cursor.execute(_folders_and_state_sql(connection.alias), [mailbox.pk])
        found = cursor.fetchall()
    of_folder, of_state = direct.shape(Folder), direct.shape(SyncState)
    width = len(of_folder)
    listed = [of_folder.build(row[:width], connection) for row in found if row[0] is not None]
    last = found[0][width:] if found else ()
    state = of_state.build(last, connection) if last and last[0] is not None else None
    return sorted(listed, key=_folder_order), state


@functools.cache
def _folders_and_state_sql(alias: str) -> str:
    """One row per folder with the state's columns beside it (one row of NULL folder columns
    when there is no folder yet): SyncState is one per mailbox."""
    connection = connections[alias]
    folders, states = Folder._meta.db_table, SyncState._meta.db_table
    return (
        f"SELECT {direct.shape(Folder).columns('f', connection)},"  # noqa: S608 - names from _meta
        f" {direct.shape(SyncState).columns('s', connection)}"
        " FROM (SELECT CAST(%s AS BIGINT) AS id) one"
        f" LEFT OUTER JOIN {folders} f ON f.mailbox_id = one.id"
        f" LEFT OUTER JOIN {states} s ON s.mailbox_id = one.id"
    )


@dataclass(frozen=True)
class FolderName:
    """What the reader's "Move to" list shows of a folder."""

    name: str
    special_use: str


@dataclass(frozen=True)
class Places:
    """What the reader shows around a message that only a change of the mailbox moves:
    previous and next in the list's order, the size of its conversation, the folders."""

    previous: int | None
    following: int | None
    thread_size: int
    folders: tuple[FolderName, ...]


PLACES_SECONDS = 10 * 60


def places(
    mailbox: Mailbox, folder: str, uid: int, listing: Listing, row: MessageIndex | None
) -> Places:
    """Places of a message, kept per mailbox version (any change of the cache moves it, a
    folder found or gone included): opened again, a message costs one cache read here
    instead of three queries (issue 16). Opening does not move the version, and needs not:
    the places do not depend on what is read, except in an unread-only list, whose reader
    keeps its place anyway (`neighbours`)."""
    digest = hashlib.sha256(
        f"{folder}\0{listing.sort}\0{listing.descending}\0{listing.unread_only}".encode()
    ).hexdigest()[:16]
    key = f"webmail:places:{mailbox.pk}:{live.version(mailbox.pk)}:{digest}:{uid}"
    found: Places | None = django_cache.get(key)
    if found is None:
        previous, following = neighbours(mailbox, folder, uid, listing, row)
        size = 0
        if row is not None and row.thread_key:
            size = (
                MessageIndex.objects.filter(folder__mailbox=mailbox, thread_key=row.thread_key)
                .order_by()
                .count()
            )
        names = tuple(FolderName(f.name, f.special_use) for f in folders(mailbox))
        found = Places(previous, following, size, names)
        django_cache.set(key, found, PLACES_SECONDS)
    return found


def with_unseen(mailboxes: QuerySet[Mailbox]) -> QuerySet[Mailbox]:
    """The mailboxes, each with `unseen`: its INBOX's unread count as last synced."""
    inbox = Folder.objects.filter(mailbox=OuterRef("pk"), name="INBOX").values("unseen")[:1]
    return mailboxes.annotate(unseen=Subquery(inbox))


def state_of(mailbox: Mailbox) -> SyncState | None:
    """The mailbox's sync state (asked on every list page: models.direct's SQL)."""
    found = direct.rows(SyncState, "t.mailbox_id = %s", [mailbox.pk], order="t.id")[:1]
    return found[0] if found else None


def readable_with_unseen(user: User | AnonymousUser) -> list[Mailbox]:
    """access.mailboxes_for(user), in its order, each with `unseen` (with_unseen), read by
    SQL of our own: the switcher on every list page (issue 16)."""
    if not user.is_authenticated or not user.is_active:
        return []
    readable = access.readable_sql(user)
    connection = connections[router.db_for_read(Mailbox)]
    with connection.cursor() as cursor:
        cursor.execute(
            _readable_sql(connection.alias) % {"readable": readable.sql},
            (*readable.params, user.pk),
        )
        found = cursor.fetchall()
    boxes, structures = direct.shape(Mailbox), direct.shape(Structure)
    listed = []
    for values in found:
        mailbox, (unseen,) = direct.joined(boxes, "structure", structures, values, connection)
        mailbox.unseen = unseen  # type: ignore[attr-defined]
        listed.append(mailbox)
    return listed


@functools.cache
def _readable_sql(alias: str) -> str:
    connection = connections[alias]
    mailboxes, structures = Mailbox._meta.db_table, Structure._meta.db_table
    return (
        f"SELECT {direct.shape(Mailbox).columns('mb', connection)},"  # noqa: S608 - names from _meta
        f" {direct.shape(Structure).columns('st', connection)},"
        f" (SELECT f.unseen FROM {Folder._meta.db_table} f WHERE f.mailbox_id = mb.id"
        " AND f.name = 'INBOX' LIMIT 1)"
        f" FROM {mailboxes} mb LEFT OUTER JOIN {structures} st ON st.id = mb.structure_id"
        " WHERE mb.id IN (%(readable)s)"
        " ORDER BY CASE WHEN mb.owner_id = %%s THEN 0 ELSE 1 END, mb.label, mb.address"
    )


def unfinished(mailboxes: QuerySet[Mailbox]) -> list[Mailbox]:
    """Those of `mailboxes` whose cache is not whole yet: never synced to the end, or a folder
    still being filled (newest first: a search there misses the older messages)."""
    return list(
        mailboxes.filter(
            Q(sync_state__isnull=True)
            | Q(sync_state__finished_at__isnull=True)
            | Q(folders__synced_at__isnull=True)
        )
        .distinct()
        .order_by("address")
    )


@dataclass
class Page:
    rows: list[MessageIndex]
    total: int
    unseen: int
    older: str = ""  # cursors, signed
    newer: str = ""
    first: bool = True
    start: int = 0  # the first row's position in the whole list (1-based), 0 if empty
    shown: int = 0  # rows on this page
    per_page: int = 50

    @property
    def end(self) -> int:
        return self.start + self.shown - 1 if self.shown else 0

    @property
    def number(self) -> int:
        """The page this is ("Page 3 sur 2 001"): where its first row falls."""
        return (self.start - 1) // self.per_page + 1 if self.start else 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _cursor(row: MessageIndex, key: str) -> str:
    value = getattr(row, key)
    return signing.dumps(
        [value.isoformat() if isinstance(value, datetime) else value, row.uid], salt=CURSOR_SALT
    )


def _uncursor(token: str, key: str) -> tuple[Any, int] | None:
    try:
        value, uid = signing.loads(token, salt=CURSOR_SALT)
        if key == "date":
            value = datetime.fromisoformat(value)
        return value, int(uid)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def page(
    folder: Folder,
    listing: Listing,
    per_page: int,
    older: str = "",
    newer: str = "",
    *,
    number: int = 0,
    day: date | None = None,
    start: int = 0,
) -> Page:
    """One page of a folder by keyset: rows after the `older` cursor, or before the `newer`
    one, in the listing's order; the first page when neither is given. A jump (issue 16):
    page `number` (OFFSET on the sort's index: 25,000 rows skipped in a few milliseconds,
    and no count, its position being known), or the first page from `day` on, in the
    direction of the order (by date only). The pager's cursors go on from there. `start`:
    the first row's position when the caller knows it (no count then)."""
    key = SORT_FIELDS.get(listing.sort, "date")
    if number > 1 and not (older or newer):
        return numbered(folder, listing, _listed(folder, listing), key, per_page, number)
    to_day = day is not None and key == "date" and not (older or newer)
    if to_day:
        assert day is not None  # noqa: S101 - to_day says so (for mypy)
        edge = datetime.combine(day, time.max if listing.descending else time.min)
        edge = timezone.make_aware(edge, timezone.get_current_timezone())
        # A cursor just past the day's edge: every row of that day is on the page.
        past = 2**32 if listing.descending else -1
        older = signing.dumps([edge.isoformat(), past], salt=CURSOR_SALT)
    boundary = _uncursor(older or newer, key) if (older or newer) else None
    backwards = bool(newer) and boundary is not None
    # Walking towards older rows in a descending list means "smaller": the same for
    # "newer" in an ascending one.
    smaller = listing.descending != backwards
    found = _page_rows(folder, listing.unread_only, key, smaller, boundary, per_page + 1)
    if to_day and not found:
        # A day beyond the list's end (before the oldest message in a newest-first list):
        # its last page, not an empty folder.
        return numbered(folder, listing, _listed(folder, listing), key, per_page, 2**31)
    more = len(found) > per_page  # rows beyond this page, in the direction walked
    found = found[:per_page]
    if backwards:
        found.reverse()
    has_newer = more if backwards else boundary is not None
    has_older = True if backwards else more
    if found and not start:  # counted only past the first page
        start = position(rows_before(folder, listing, key, found[0])) if has_newer else 1
    return Page(
        rows=found,
        total=folder.unseen if listing.unread_only else folder.messages,
        unseen=folder.unseen,
        older=_cursor(found[-1], key) if found and has_older else "",
        newer=_cursor(found[0], key) if found and has_newer else "",
        first=not has_newer,
        start=start,
        shown=len(found),
        per_page=per_page,
    )


def _listed(folder: Folder, listing: Listing) -> QuerySet[MessageIndex]:
    """The folder's rows the listing shows, in no order yet (a jump's OFFSET query)."""
    rows = folder.index.only(*LIST_FIELDS)
    return rows.filter(seen=False) if listing.unread_only else rows


def _page_rows(
    folder: Folder,
    unread_only: bool,
    key: str,
    smaller: bool,
    boundary: tuple[Any, int] | None,
    limit: int,
) -> list[MessageIndex]:
    """Up to `limit` rows of the folder in the order of `key` then UID (towards smaller
    values or greater ones), after `boundary` (the key's value and the UID of the last row
    seen) if any: the keyset query on the sort's index, in SQL of our own (models.direct:
    the ORM spent longer building it than the database answering it, issue 16)."""
    connection = connections[router.db_for_read(MessageIndex)]
    field = MessageIndex._meta.get_field(key)
    assert isinstance(field, models.Field)  # noqa: S101 - a sort key is a column (for mypy)
    column = connection.ops.quote_name(field.column)
    where, params = ["t.folder_id = %s"], [folder.pk]
    if unread_only:
        where.append("t.seen = %s")
        params.append(False)
    if boundary is not None:
        value, uid = boundary
        value = field.get_db_prep_value(value, connection)
        # The key's own bound first (the index's range), then the tie on the UID.
        sign = "<" if smaller else ">"
        where.append(f"t.{column} {sign}= %s AND (t.{column} {sign} %s OR t.uid {sign} %s)")
        params += [value, value, uid]
    direction = "DESC" if smaller else "ASC"
    return direct.rows(
        MessageIndex,
        " AND ".join(where),
        params,
        order=f"t.{column} {direction}, t.uid {direction}",
        names=LIST_FIELDS,
        limit=limit,
    )


def numbered(
    folder: Folder,
    listing: Listing,
    rows: QuerySet[MessageIndex],
    key: str,
    per_page: int,
    number: int,
) -> Page:
    """Page `number`: the sort key of the row just before it, read from the sort's index
    alone (an index-only scan skips 50,000 entries in a few milliseconds, where OFFSET on
    the rows themselves reads each skipped row), then the page by keyset from there."""
    total = folder.unseen if listing.unread_only else folder.messages
    number = max(1, min(number, -(-total // per_page) or 1))  # past the end: the last page
    offset = (number - 1) * per_page
    order = [f"-{key}", "-uid"] if listing.descending else [key, "uid"]
    before = list(rows.order_by(*order).values_list(key, "uid")[offset - 1 : offset])
    if not before:
        return page(folder, listing, per_page)
    value, uid = before[0]
    cursor = signing.dumps(
        [value.isoformat() if isinstance(value, datetime) else value, uid], salt=CURSOR_SALT
    )
    return page(folder, listing, per_page, older=cursor, start=offset + 1)


def rows_before(folder: Folder, listing: Listing, key: str, row: MessageIndex) -> QuerySet[Any]:
    """The rows listed before `row` in this order: counted on the same index as the page."""
    rows = folder.index.all()
    if listing.unread_only:
        rows = rows.filter(seen=False)
    value, direction = getattr(row, key), "gt" if listing.descending else "lt"
    # The key's own bound first: the index's range (the OR alone scanned the whole folder's
    # index, 19 ms for 100,000 messages where the range takes 4 ms).
    return rows.filter(**{f"{key}__{direction}e": value}).filter(
        Q(**{f"{key}__{direction}": value}) | Q(**{key: value, f"uid__{direction}": row.uid})
    )


def neighbours(
    mailbox: Mailbox, folder: str, uid: int, listing: Listing, row: MessageIndex | None = None
) -> tuple[int | None, int | None]:
    """The UIDs listed just before and just after a message in this order (the reader's
    "previous" and "next"), from the same index as the list; None at either end, or both
    when the cache does not know the message. `row`: its row, when the caller has it. An
    unread-only list keeps its place for a message that opening has just marked read."""
    key = SORT_FIELDS.get(listing.sort, "date")
    if row is None:
        row = (
            MessageIndex.objects.filter(folder__mailbox=mailbox, folder__name=folder, uid=uid)
            .only(key, "uid", "folder_id")
            .first()
        )
    if row is None:
        return None, None
    rows = MessageIndex.objects.filter(folder_id=row.folder_id)
    if listing.unread_only:
        rows = rows.filter(seen=False)
    value = getattr(row, key)
    # Each with the key's own bound first, the index's range (as rows_before).
    greater = Q(**{f"{key}__gte": value}) & (Q(**{f"{key}__gt": value}) | Q(uid__gt=uid))
    smaller = Q(**{f"{key}__lte": value}) & (Q(**{f"{key}__lt": value}) | Q(uid__lt=uid))
    sides = (
        rows.filter(greater).order_by(key, "uid").annotate(side=Value(1)),
        rows.filter(smaller).order_by(f"-{key}", "-uid").annotate(side=Value(-1)),
    )
    if connection.features.supports_slicing_ordering_in_compound:  # PostgreSQL: one query
        first, second = (side.values_list("side", "uid")[:1] for side in sides)
        found = dict(first.union(second, all=True))
    else:
        found = {
            n: side.values_list("uid", flat=True).first()
            for n, side in zip((1, -1), sides, strict=True)
        }
    above, below = found.get(1), found.get(-1)
    return (above, below) if listing.descending else (below, above)


def position(before: QuerySet[Any]) -> int:
    """1-based position of a page's first row ("51–100 sur 157"), from the rows before it."""
    return before.count() + 1


def conversation(mailbox: Mailbox, thread_key: str) -> QuerySet[MessageIndex]:
    """Every message of the conversation in this mailbox, whatever its folder, oldest first."""
    return (
        MessageIndex.objects.filter(folder__mailbox=mailbox, thread_key=thread_key)
        .select_related("folder")
        .order_by("date", "uid")
    )


@dataclass(frozen=True)
class Criteria:
    """A search: words, and filters on people, dates, attachments and unread state."""

    words: str = ""
    sender: str = ""
    since: date | None = None
    until: date | None = None
    attachments: bool = False
    unread: bool = False


def search_in(scope: QuerySet[MessageIndex], criteria: Criteria) -> QuerySet[MessageIndex]:
    """Messages of `scope` (what the person may read: mailboxes.access) matching `criteria`,
    newest first."""
    rows = search.matching(scope, criteria.words) if criteria.words.strip() else scope
    if criteria.sender:
        rows = rows.filter(
            Q(sender_address__icontains=criteria.sender) | Q(sender_name__icontains=criteria.sender)
        )
    zone = timezone.get_current_timezone()
    if criteria.since:
        rows = rows.filter(date__gte=datetime.combine(criteria.since, time.min, tzinfo=zone))
    if criteria.until:
        rows = rows.filter(date__lte=datetime.combine(criteria.until, time.max, tzinfo=zone))
    if criteria.attachments:
        rows = rows.filter(has_attachments=True)
    if criteria.unread:
        rows = rows.filter(seen=False)
    return rows.select_related("folder", "folder__mailbox").order_by("-date", "-uid")


MERGED_FOLDERS = 40  # past this many folders, one query over all of them


def search_page(
    scope: QuerySet[MessageIndex],
    criteria: Criteria,
    folder_ids: list[int],
    offset: int,
    limit: int,
) -> list[MessageIndex]:
    """`limit` rows of `search_in(scope, criteria)` from `offset`, in these folders: each
    folder's newest matches first (its own date index walked while the words are common,
    its matches found by the word index when they are rare: the planner knows which), then
    merged. Over all folders at once, a common word had every match joined and sorted
    (234 ms for 60,000 matches of 100,000 messages, where each folder's walk takes 1 ms:
    issue 16). `scope` still decides what may be read: the folders only narrow it."""
    ordered = search_in(scope, criteria)
    if not folder_ids:
        return []
    merged = 1 < len(folder_ids) <= MERGED_FOLDERS
    if not (merged and connection.features.supports_slicing_ordering_in_compound):
        return list(ordered.filter(folder_id__in=folder_ids)[offset : offset + limit])
    parts = [
        ordered.filter(folder_id=folder).values_list("pk", "date", "uid")[: offset + limit]
        for folder in folder_ids
    ]
    union = parts[0].union(*parts[1:], all=True).order_by("-date", "-uid")
    keys = [pk for pk, _date, _uid in union[offset : offset + limit]]
    rows = {row.pk: row for row in ordered.filter(pk__in=keys)}
    return [rows[pk] for pk in keys if pk in rows]


def _body_key(mailbox: Mailbox, folder: str, uid: int) -> str | None:
    """Keyed by UIDVALIDITY too: a rebuilt folder's UIDs never find an old body."""
    validity = (
        Folder.objects.filter(mailbox=mailbox, name=folder)
        .values_list("uidvalidity", flat=True)
        .first()
    )
    if not validity:
        return None
    name = hashlib.sha256(folder.encode()).hexdigest()[:16]
    return f"webmail:body:{mailbox.pk}:{name}:{validity}:{uid}"


def remember_body(mailbox: Mailbox, folder: str, uid: int, raw: bytes) -> None:
    """Keep an opened message a little while (Redis, size-capped) for its frame and parts.
    Callers have checked access; so do those who read it back."""
    if not settings.WEBMAIL_BODY_CACHE_SECONDS or len(raw) > settings.WEBMAIL_BODY_CACHE_BYTES:
        return
    if key := _body_key(mailbox, folder, uid):
        django_cache.set(key, raw, settings.WEBMAIL_BODY_CACHE_SECONDS)


def cached_body(mailbox: Mailbox, folder: str, uid: int) -> bytes | None:
    key = _body_key(mailbox, folder, uid)
    return django_cache.get(key) if key else None


def after_flags(
    mailbox: Mailbox, folder: str, uids: list[int], *, quiet: bool = False, **fields: bool
) -> None:
    """Our own flag change, done at the operator: shown at once (the sync will agree).
    `quiet`: the mailbox's version stays (a message opened: see reading.do_read_message)."""
    rows = MessageIndex.objects.filter(folder__mailbox=mailbox, folder__name=folder, uid__in=uids)
    changed = rows.filter(~Q(**fields)).update(**fields)
    if not changed:
        return
    if "seen" in fields:  # counted by difference: two COUNTs over 100,000 rows take 10 ms
        delta = -changed if fields["seen"] else changed
        Folder.objects.filter(mailbox=mailbox, name=folder).update(
            unseen=Greatest(F("unseen") + delta, 0)
        )
    if not quiet:
        live.bump(mailbox.pk)


def after_read(row: MessageIndex) -> None:
    """A message opened, its cache row at hand: \\Seen by its key, the folder's count by
    difference (two one-row UPDATEs). Quiet, as reading.do_read_message explains."""
    if MessageIndex.objects.filter(pk=row.pk, seen=False).update(seen=True):
        Folder.objects.filter(pk=row.folder_id).update(unseen=Greatest(F("unseen") - 1, 0))
    row.seen = True


def after_keyword(mailbox: Mailbox, folder: str, uids: list[int], keyword: str, on: bool) -> None:
    """Our own keyword change, done at the operator: in the cached rows at once."""
    rows = MessageIndex.objects.filter(folder__mailbox=mailbox, folder__name=folder, uid__in=uids)
    for row in rows.only("pk", "keywords"):
        keywords = sorted({*row.keywords, keyword} if on else set(row.keywords) - {keyword})
        if keywords != row.keywords:
            MessageIndex.objects.filter(pk=row.pk).update(keywords=keywords)
    live.bump(mailbox.pk)


def message_ids(mailbox: Mailbox, folder: str, uids: list[int]) -> list[str]:
    """The Message-IDs the cache knows for these messages (an empty one is left out)."""
    rows = MessageIndex.objects.filter(folder__mailbox=mailbox, folder__name=folder, uid__in=uids)
    return [found for found in rows.values_list("message_id", flat=True) if found]


def after_removal(mailbox: Mailbox, folder: str, uids: list[int]) -> None:
    """Our own move or deletion, done at the operator: gone from this folder's list at once;
    the destination gets them at the next sync, which the action asks for."""
    keys = [_body_key(mailbox, folder, uid) for uid in uids[:50]]
    django_cache.delete_many([key for key in keys if key])
    rows = MessageIndex.objects.filter(folder__mailbox=mailbox, folder__name=folder, uid__in=uids)
    if sync.deleted(rows):
        recount(mailbox, folder)


def after_emptied(mailbox: Mailbox, folder: str) -> None:
    sync.deleted(MessageIndex.objects.filter(folder__mailbox=mailbox, folder__name=folder))
    recount(mailbox, folder)


def recount(mailbox: Mailbox, folder: str, *, quiet: bool = False) -> None:
    cached = Folder.objects.filter(mailbox=mailbox, name=folder).first()
    if cached is not None:
        cached.messages = cached.index.count()
        cached.unseen = cached.index.filter(seen=False).count()
        cached.save(update_fields=["messages", "unseen"])
    if not quiet:
        live.bump(mailbox.pk)


def trash_name(mailbox: Mailbox) -> str | None:
    """The Trash folder's name as the cache knows it (special use), without asking IMAP."""
    return (
        Folder.objects.filter(mailbox=mailbox, special_use="\\Trash")
        .values_list("name", flat=True)
        .first()
    )


def outbox_subjects(mailbox: Mailbox, outgoing: list[Outgoing]) -> dict[int, str]:
    """Each outbox message's subject: from its copy in Sent once the cache has it (the
    outbox forgets the content once sent), else from the message still held."""
    ids = [o.message_id for o in outgoing]
    copies = dict(
        MessageIndex.objects.filter(folder__mailbox=mailbox, message_id__in=ids).values_list(
            "message_id", "subject"
        )
    )
    return {o.pk: copies.get(o.message_id) or subject_of(bytes(o.raw)) for o in outgoing}


def subject_of(raw: bytes) -> str:
    return header(headers_only(raw), "Subject") if raw else ""
