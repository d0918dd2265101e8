"""THE access policy: which person may do which action on which mailbox.

Nothing else in the code decides access. Deny by default; views, tasks and querysets ask
here. A refusal looks like absence (404), so a mailbox's existence does not leak.
"""

from __future__ import annotations

import enum
import functools
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import connections, router
from django.db.models import Case, Q, Value, When
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from mailboxes import audit
from mailboxes.models import (
    AuditEvent,
    Delegation,
    Mailbox,
    MessageIndex,
    Notification,
    Structure,
    direct,
)

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet
    from django.http import HttpRequest

    from mailboxes.models import User


class Role(enum.IntEnum):
    """Ordered: each role can do everything the lower ones can."""

    READER = 1
    TRIAGE = 2
    SENDER = 3
    MANAGER = 4


class Action(enum.StrEnum):
    READ = "read"
    SEARCH = "search"
    TRIAGE = "triage"
    MOVE = "move"
    SEND = "send"
    MANAGE = "manage"


MINIMUM_ROLE: dict[Action, Role] = {
    Action.READ: Role.READER,
    Action.SEARCH: Role.READER,
    Action.TRIAGE: Role.TRIAGE,
    Action.MOVE: Role.TRIAGE,
    Action.SEND: Role.SENDER,
    Action.MANAGE: Role.MANAGER,
}


def role_of(
    user: User | AnonymousUser, mailbox: Mailbox, read: tuple[str | None, bool] | None = None
) -> Role | None:
    """The person's highest role on the mailbox, or None.

    A personal mailbox's owner and the managers of an organisational mailbox's structure are
    its managers; anyone else holds at most the role of an active delegation. `read`: their
    delegation's role and whether they manage its structure, read with the mailbox itself
    (`with_roles`), for this one look-up: asked again later (a stream still open, say),
    the policy reads the database afresh.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    if read is not None:
        own_role, manages_structure = read
        if mailbox.kind == Mailbox.Kind.PERSONAL and mailbox.owner_id == user.pk:
            return Role.MANAGER
        if mailbox.kind == Mailbox.Kind.ORGANISATIONAL and manages_structure:
            return Role.MANAGER
        return Role[own_role.upper()] if own_role else None
    if _manages(user, mailbox):
        return Role.MANAGER
    delegation = Delegation.objects.active().filter(person=user, mailbox=mailbox).first()
    return Role[delegation.role.upper()] if delegation else None


def _manages(user: User, mailbox: Mailbox) -> bool:
    """Owns the personal mailbox, or manages the organisational one's structure."""
    if mailbox.kind == Mailbox.Kind.PERSONAL and mailbox.owner_id == user.pk:
        return True
    return (
        mailbox.kind == Mailbox.Kind.ORGANISATIONAL
        and mailbox.structure_id is not None
        and mailbox.structure.managers.filter(pk=user.pk).exists()  # type: ignore[union-attr]
    )


def access_ends_at(user: User | AnonymousUser, mailbox: Mailbox) -> datetime | None:
    """When the person's access to the mailbox ends by itself: the expiry of the delegation
    it comes from. None when it has no end (theirs to manage, or a delegation for good)."""
    if not user.is_authenticated or _manages(user, mailbox):
        return None
    delegation = Delegation.objects.active().filter(person=user, mailbox=mailbox).first()
    return delegation.expires_at if delegation else None


def can(user: User | AnonymousUser, action: Action, mailbox: Mailbox) -> bool:
    role = role_of(user, mailbox)
    return role is not None and role >= MINIMUM_ROLE[action]


def allowed(
    user: User | AnonymousUser, mailbox: Mailbox, read: tuple[str | None, bool] | None = None
) -> frozenset[Action]:
    """Every action the person may do on the mailbox, from one role look-up (a page that
    shows several actions asks once; `read`: see role_of)."""
    role = role_of(user, mailbox, read)
    if role is None:
        return frozenset()
    return frozenset(action for action, least in MINIMUM_ROLE.items() if role >= least)


def searchable_messages(user: User | AnonymousUser) -> QuerySet[MessageIndex]:
    """The cached messages the person may search: those of every mailbox they may read."""
    return MessageIndex.objects.filter(folder__mailbox__in=mailboxes_for(user).values("pk"))


def mailboxes_for(user: User | AnonymousUser) -> QuerySet[Mailbox]:
    """Every mailbox the person may at least read: personal ones first, then by label.
    Chosen by SQL (`readable_sql`): the ORM's version of the same rule took longer to build
    than to run, on every list page (issue 16)."""
    if not user.is_authenticated or not user.is_active:
        return Mailbox.objects.none()
    personal_first = Case(When(owner=user, then=Value(0)), default=Value(1))
    return (
        Mailbox.objects.filter(pk__in=readable_sql(user))
        .select_related("structure")
        .order_by(personal_first, "label", "address")
    )


def readable_sql(user: User) -> RawSQL:
    """The ids of the mailboxes `user` may read, as a subquery: their own personal ones,
    the organisational ones of a structure they manage, and those of an active delegation
    (role_of's rule; the access matrix tests hold the two equal)."""
    now = timezone.now()
    mailboxes, delegations, managers = _tables()
    return RawSQL(  # noqa: S611 - names from _meta, values as parameters
        f"SELECT mb.id FROM {mailboxes} mb WHERE (mb.kind = %s AND mb.owner_id = %s)"  # noqa: S608
        f" OR (mb.kind = %s AND EXISTS (SELECT 1 FROM {managers} m"
        " WHERE m.structure_id = mb.structure_id AND m.user_id = %s))"
        f" OR EXISTS (SELECT 1 FROM {delegations} d WHERE d.mailbox_id = mb.id"
        f" AND d.person_id = %s AND {ACTIVE_SQL})",
        (Mailbox.Kind.PERSONAL, user.pk, Mailbox.Kind.ORGANISATIONAL, user.pk, user.pk, now, now),
    )


# DelegationQuerySet.active's rule, on a delegation aliased d: (now, now) as parameters.
ACTIVE_SQL = (
    "d.revoked_at IS NULL AND d.starts_at <= %s AND (d.expires_at IS NULL OR d.expires_at > %s)"
)


def _tables() -> tuple[str, str, str]:
    return (
        Mailbox._meta.db_table,
        Delegation._meta.db_table,
        Structure.managers.through._meta.db_table,
    )


def managed_mailboxes(user: User | AnonymousUser) -> QuerySet[Mailbox]:
    """The mailboxes the person manages, in one query (the top bar asks on every page).
    The same rules as role_of; tests hold the two together."""
    if not user.is_authenticated or not user.is_active:
        return Mailbox.objects.none()
    delegated = Delegation.objects.active().filter(person=user, role=Delegation.Role.MANAGER)
    managed = (
        Q(kind=Mailbox.Kind.PERSONAL, owner=user)
        | Q(kind=Mailbox.Kind.ORGANISATIONAL, structure__managers=user)
        | Q(pk__in=delegated.values("mailbox_id"))
    )
    return (
        Mailbox.objects.filter(managed)
        .distinct()
        .select_related("structure")
        .order_by("label", "address")
    )


DENIAL_AUDIT_SECONDS = 60


def mailbox_or_404(
    user: User | AnonymousUser,
    action: Action,
    mailbox_id: int,
    request: HttpRequest | None = None,
) -> Mailbox:
    """The mailbox if the person may do `action` on it; 404 otherwise, existing or not.
    Its `allowed` says everything else the person may do on it, from the same look-up.

    A refusal on an existing mailbox is audited, once a minute per person and action (a
    revoked delegate's next click shows up in the mailbox's trail); the answer is the same
    404 every time.
    """
    mailbox = with_roles(mailbox_id, user)
    if mailbox is None:
        raise Http404
    read = (mailbox.role_here, mailbox.manages_here) if user.is_authenticated else None  # type: ignore[attr-defined]
    mailbox.allowed = frozenset(allowed(user, mailbox, read))  # one look-up for the request
    if action not in mailbox.allowed:
        # One event a minute per person, mailbox and action: a loop on foreign ids must
        # not flood the trail (cache.add is atomic: one of concurrent refusals records).
        key = f"webmail:denied:{user.pk}:{mailbox.pk}:{action}"
        if cache.add(key, 1, DENIAL_AUDIT_SECONDS):
            audit.record(
                user,
                f"access.{action}",
                mailbox=mailbox,
                outcome=AuditEvent.Outcome.DENIED,
                request=request,
            )
        raise Http404
    return mailbox


def with_roles(mailbox_id: int, user: User | AnonymousUser) -> Mailbox | None:
    """The mailbox (its structure with it) with, read in the same query, what the policy asks
    of it for this person: their active delegation's role (`role_here`), whether they manage
    its structure (`manages_here`), and whether anyone holds an active delegation on it
    (`delegated`, for triage): one round trip where three would be (the reader is opened on
    every click).

    Written as SQL because the ORM took longer to build this query than the database took
    to run it (about a millisecond a page, issue 16); "active" is DelegationQuerySet.active's
    rule, word for word, and the access tests hold both (the 195-case matrix, both engines)."""
    connection = connections[router.db_for_read(Mailbox)]
    sql = _with_roles_sql(connection.alias, user.is_authenticated)
    now = timezone.now()
    params = (
        (user.pk, now, now, user.pk, now, now, mailbox_id)
        if user.is_authenticated
        else (mailbox_id,)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    mailbox, (role, manages, delegated) = direct.joined(
        direct.shape(Mailbox), "structure", direct.shape(Structure), found, connection
    )
    mailbox.role_here, mailbox.manages_here = role, bool(manages)  # type: ignore[attr-defined]
    mailbox.delegated = bool(delegated)  # type: ignore[attr-defined]
    return mailbox


@functools.cache
def _with_roles_sql(alias: str, authenticated: bool) -> str:
    connection = connections[alias]
    mailboxes, delegations, managers = _tables()
    structures = Structure._meta.db_table
    roles = (
        f"(SELECT d.role FROM {delegations} d WHERE d.mailbox_id = mb.id"  # noqa: S608
        f" AND d.person_id = %s AND {ACTIVE_SQL} LIMIT 1),"
        f" EXISTS (SELECT 1 FROM {managers} m WHERE m.structure_id = mb.structure_id"
        " AND m.user_id = %s),"
        f" EXISTS (SELECT 1 FROM {delegations} d WHERE d.mailbox_id = mb.id AND {ACTIVE_SQL})"
        if authenticated
        else "NULL, 0, 0"
    )
    columns = direct.shape(Mailbox).columns("mb", connection)
    structure_columns = direct.shape(Structure).columns("st", connection)
    return (
        f"SELECT {columns}, {structure_columns}, {roles} FROM {mailboxes} mb"  # noqa: S608 - names from _meta
        f" LEFT OUTER JOIN {structures} st ON st.id = mb.structure_id WHERE mb.id = %s"
    )


def may_delegate(
    user: User | AnonymousUser,
    mailbox: Mailbox,
    person: User,
    request: HttpRequest | None = None,
) -> bool:
    """Whether someone who manages `mailbox` may grant, change or extend `person`'s
    delegation on it: anyone's but their own (a manager-role delegate would otherwise renew
    their own delegation for ever, or raise their role). A refusal is audited."""
    if person.pk != user.pk:
        return True
    own = Delegation.objects.active().filter(person=person, mailbox=mailbox).first()
    audit.record(
        user,
        "delegation.change",
        mailbox=mailbox,
        target=f"{person.get_username()} {own.role}" if own else person.get_username(),
        outcome=AuditEvent.Outcome.DENIED,
        request=request,
    )
    return False


NAVIGATION_SECONDS = 60


def navigation(user: User | AnonymousUser) -> dict[str, int]:
    """What the top bar offers: management pages, invitations, unread notifications. Cached a
    minute per person (three queries on every page otherwise); a new notification (every
    change of delegation makes one) or reading them forgets it at once. The pages themselves
    always check afresh."""
    if not user.is_authenticated:
        return {"manages": False, "invites": False, "notifications": 0}
    key = f"webmail:navigation:{user.pk}"
    flags: dict[str, int] | None = cache.get(key)
    if flags is None:
        flags = {
            "manages": managed_mailboxes(user).exists(),
            "invites": can_invite(user),
            "notifications": Notification.objects.filter(person=user, read_at__isnull=True).count(),
        }
        cache.set(key, flags, NAVIGATION_SECONDS)
    return flags


def forget_navigation(user_id: int) -> None:
    cache.delete(f"webmail:navigation:{user_id}")


def can_invite(user: User | AnonymousUser) -> bool:
    """Administrators and structure managers may invite people to a local account."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser or user.managed_structures.exists())
