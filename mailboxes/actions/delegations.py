"""Actions on delegations: grant, change, revoke. Each owns its transaction, its audit event
and the notice to the delegate. Callers have checked Action.MANAGE in mailboxes.access."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mailboxes import access, audit, signals
from mailboxes.models import Delegation, Mailbox, Notification, User

if TYPE_CHECKING:
    from django.http import HttpRequest


def known_people(mailbox: Mailbox) -> QuerySet[User]:
    """People a manager may pick: those working at or for the mailbox's structure, or its
    owner's, and anyone already delegated on one of those structures' mailboxes."""
    structures = (
        [mailbox.structure_id]
        if mailbox.structure_id
        else list(mailbox.owner.practices.values_list("structure_id", flat=True))  # type: ignore[union-attr]
        if mailbox.owner_id
        else []
    )
    return (
        User.objects.filter(
            Q(practices__structure__in=structures)
            | Q(managed_structures__in=structures)
            | Q(
                delegations__mailbox__structure__in=structures, delegations__revoked_at__isnull=True
            )
            | Q(delegations__mailbox=mailbox, delegations__revoked_at__isnull=True),
            is_active=True,
        )
        .exclude(pk=mailbox.owner_id or 0)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def person_for_email(email: str) -> tuple[User, bool]:
    """The account with this e-mail, or a new one waiting for its invitation (True)."""
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    user = User(username=email, email=email)
    user.set_unusable_password()
    user.save()
    return user, True


def notify(person: User, text: str) -> None:
    """In the app, and by e-mail when we know an address. Never any health data."""
    Notification.objects.create(person=person, text=text[:500])
    # A new role may open or close the management pages, and the badge counts one more: once
    # the change is committed, or a page in between would cache the old state again.
    transaction.on_commit(lambda: access.forget_navigation(person.pk))
    if person.email:
        transaction.on_commit(
            lambda: send_mail(_("MSSanté webmail: your access changed"), text, None, [person.email])
        )


def describe(delegation: Delegation) -> str:
    return f"{delegation.person.get_username()} {delegation.role}"


@transaction.atomic
def do_grant_delegation(
    granter: User,
    mailbox: Mailbox,
    person: User,
    role: str,
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> Delegation:
    """Give `person` a role on `mailbox`; an open delegation of theirs is changed instead."""
    delegation = (
        Delegation.objects.select_for_update()
        .filter(person=person, mailbox=mailbox, revoked_at__isnull=True)
        .first()
    )
    if delegation is not None:
        return do_change_delegation(granter, delegation, role, expires_at, request)
    delegation = Delegation.objects.create(
        person=person, mailbox=mailbox, role=role, granted_by=granter, expires_at=expires_at
    )
    audit.record(
        granter, "delegation.grant", mailbox=mailbox, target=describe(delegation), request=request
    )
    notify(
        person,
        _("You now have access to the mailbox %(mailbox)s (role: %(role)s).")
        % {"mailbox": mailbox.address, "role": delegation.get_role_display()},
    )
    return delegation


@transaction.atomic
def do_change_delegation(
    changer: User,
    delegation: Delegation,
    role: str,
    expires_at: datetime | None,
    request: HttpRequest | None = None,
) -> Delegation:
    delegation.role, delegation.expires_at = role, expires_at
    delegation.save(update_fields=["role", "expires_at"])
    signals.delegation_changed.send(
        Delegation, delegation=delegation, actor=changer, request=request
    )
    audit.record(
        changer,
        "delegation.change",
        mailbox=delegation.mailbox,
        target=describe(delegation),
        request=request,
    )
    notify(
        delegation.person,
        _("Your access to the mailbox %(mailbox)s changed (role: %(role)s).")
        % {"mailbox": delegation.mailbox.address, "role": delegation.get_role_display()},
    )
    return delegation


@transaction.atomic
def do_revoke_delegation(
    revoker: User, delegation: Delegation, request: HttpRequest | None = None
) -> None:
    """Revoke now: the delegate's very next request is refused (access checks every time)."""
    delegation.revoked_at, delegation.revoked_by = timezone.now(), revoker
    delegation.save(update_fields=["revoked_at", "revoked_by"])
    # Before the notice: the feature apps end what the delegate held (triage assignments).
    signals.delegation_changed.send(
        Delegation, delegation=delegation, actor=revoker, request=request
    )
    audit.record(
        revoker,
        "delegation.revoke",
        mailbox=delegation.mailbox,
        target=describe(delegation),
        request=request,
    )
    notify(
        delegation.person,
        _("Your access to the mailbox %(mailbox)s was removed.")
        % {"mailbox": delegation.mailbox.address},
    )
