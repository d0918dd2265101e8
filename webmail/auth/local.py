"""Local accounts for people without e-CPS: invitation, password, TOTP, backup codes.

Actions own their transaction and their audit event; views only parse and render.

An invitation sets up an account that has no way in yet, and nothing else: never one with a
password, a one-time-code device, a Pro Santé Connect identity or administrator rights.
Whoever can read the invited address's mail could otherwise take the account over (a
manager delegated on a colleague's mailbox inviting that colleague's address). A person who
already has an account adds the password door to it themselves, logged in (`do_add_password`);
a lost password or phone is reset by an administrator (`manage.py reset_local_login`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user, match_token

from mailboxes import access, audit
from mailboxes.models import (
    AppDevice,
    AuditEvent,
    BackupCodes,
    Invitation,
    Mailbox,
    Structure,
    User,
)
from webmail.auth import throttle

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django_otp.models import Device

logger = logging.getLogger(__name__)
BACKUP_CODES = 10
DENIED = AuditEvent.Outcome.DENIED


class InvitationRefused(Exception):
    """The invitation cannot set up this account (it has a way in already)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_a_door(user: User) -> bool:
    """Whether the account can already be logged into, or is an administrator's. A password
    alone is no door (the code step needs a confirmed device): an enrolment left half-way
    can be taken up again from the same invitation."""
    return (
        bool(user.subject_name_id)
        or user.is_staff
        or user.is_superuser
        or any(devices_for_user(user, confirmed=True))
    )


def is_set_up(user: User) -> bool:
    """Has a way in, or has been used: no manager's invitation may touch it."""
    return has_a_door(user) or user.last_login is not None


@dataclass(frozen=True)
class Invited:
    invitation: Invitation | None  # None: the address has an account already
    link: str = ""
    delivered: bool = False


def may_invite_for(inviter: User, structure: Structure | None, mailbox: Mailbox | None) -> bool:
    """Invitations only for the inviter's own structures, or along access just given to a
    mailbox they manage (a personal mailbox has no structure); administrators: any."""
    if inviter.is_superuser:
        return True
    if mailbox is not None:
        return access.can(inviter, access.Action.MANAGE, mailbox)
    return structure is not None and inviter.managed_structures.filter(pk=structure.pk).exists()


def do_invite(
    inviter: User,
    email: str,
    request: HttpRequest | None,
    structure: Structure | None = None,
    *,
    mailbox: Mailbox | None = None,
) -> Invited:
    """Invite an address to a new local account, or to the never-used account made when it
    was given access, and e-mail the link (no health data in it)."""
    if not may_invite_for(inviter, structure, mailbox):
        raise PermissionDenied
    email = email.strip().lower()
    account = User.objects.filter(email__iexact=email).first()
    if account is not None and is_set_up(account):
        audit.record(
            inviter,
            "invitation.create",
            target=email,
            outcome=DENIED,
            response="account exists",
            request=request,
        )
        return Invited(None)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            email=email,
            token_digest=digest(token),
            invited_by=inviter,
            structure=structure,
            account=account,
            expires_at=timezone.now() + timedelta(days=settings.WEBMAIL_INVITATION_DAYS),
        )
        audit.record(inviter, "invitation.create", target=email, request=request)
    link = invitation_link(request, token)
    return Invited(invitation, link, send_invitation(invitation, inviter, link, request))


def invitation_link(request: HttpRequest | None, token: str) -> str:
    """The token rides in the fragment: browsers never send it, so it reaches no access log,
    no proxy and no Referer (static/js/invitation.js posts it)."""
    path = reverse("auth-invitation") + "#" + token
    return request.build_absolute_uri(path) if request else settings.SITE_URL.rstrip("/") + path


def send_invitation(
    invitation: Invitation, inviter: User | None, link: str, request: HttpRequest | None
) -> bool:
    """E-mail the link; a refusal by the mail server is recorded and reported, not raised."""
    context = {"inviter": inviter, "link": link, "invitation": invitation}
    try:
        send_mail(
            _("Your access to the MSSanté webmail"),
            render_to_string("auth/invitation_email.txt", context),
            None,
            [invitation.email],
        )
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("invitation e-mail refused: %s", type(exc).__name__)
        audit.record(
            inviter,
            "invitation.email",
            target=invitation.email,
            outcome=AuditEvent.Outcome.ERROR,
            response=str(exc)[:200],
            request=request,
        )
        return False
    return True


def open_invitation(token: str) -> Invitation | None:
    """The invitation for this token if it can still be used."""
    return open_invitations().filter(token_digest=digest(token)).first()


def open_invitations() -> QuerySet[Invitation]:
    return Invitation.objects.filter(accepted_at__isnull=True, expires_at__gt=timezone.now())


def account_for(invitation: Invitation) -> User | None:
    """The account this invitation may set up (None: a new one), or InvitationRefused."""
    if invitation.account is not None:
        if has_a_door(invitation.account):
            raise InvitationRefused
        return invitation.account
    account = User.objects.filter(email__iexact=invitation.email).first()
    if account is not None and is_set_up(account):
        raise InvitationRefused
    return account


def do_set_password(invitation: Invitation, password: str, request: HttpRequest) -> User:
    """First step of accepting: the account gets its password; every other open invitation
    to the address dies. InvitationRefused if the account has a way in already."""
    try:
        return set_invited_password(invitation, password)
    except InvitationRefused:
        audit.record(
            None, "invitation.accept", target=invitation.email, outcome=DENIED,
            response="account exists", request=request,
        )  # fmt: skip
        raise


@transaction.atomic
def set_invited_password(invitation: Invitation, password: str) -> User:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    user = account_for(invitation)
    if user is None:
        user = User(username=invitation.email, email=invitation.email)
    user.set_password(password)
    user.save()
    invitation.account = user
    invitation.save(update_fields=["account"])
    open_invitations().filter(email__iexact=invitation.email).exclude(pk=invitation.pk).update(
        expires_at=timezone.now()
    )
    return user


@transaction.atomic
def do_add_password(user: User, password: str, request: HttpRequest) -> None:
    """The person, logged in with Pro Santé Connect, adds (or replaces) their password door;
    their app is enrolled next (start_totp / do_confirm_totp)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    update_session_auth_hash(request, user)  # a new password would end this very session
    audit.record(user, "account.password", request=request)


def start_totp(user: User) -> AppDevice:
    AppDevice.objects.filter(user=user, confirmed=False).delete()
    device: AppDevice = AppDevice.objects.create(
        user=user, name=_("Authenticator app"), confirmed=False
    )
    return device


@dataclass(frozen=True)
class Enrolment:
    device: AppDevice
    backup_codes: list[str]


@transaction.atomic
def do_confirm_totp(
    invitation: Invitation | None, user: User, device: AppDevice, code: str, request: HttpRequest
) -> Enrolment | None:
    """Confirm the app with a code it shows; then replace the person's other devices, issue
    backup codes and close the invitation (if enrolling through one)."""
    if not device.verify_token(code.strip()):
        audit.record(user, "otp.enrol", outcome=DENIED, request=request)
        return None
    for other in devices_for_user(user, confirmed=None):
        if other != device:
            other.delete()
    device.confirmed = True
    device.save()
    codes = BackupCodes.objects.create(user=user, name=_("Backup codes")).issue(BACKUP_CODES)
    if invitation is not None:
        invitation.accepted_at, invitation.accepted_by = timezone.now(), user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(user, "invitation.accept", target=invitation.email, request=request)
    else:
        audit.record(user, "otp.enrol", request=request)
    return Enrolment(device=device, backup_codes=codes)


@transaction.atomic
def do_reset_local_login(user: User, request: HttpRequest | None = None) -> Invited:
    """An administrator's reset of a lost password or phone: both removed, and a new
    invitation bound to this very account (its delegations stay)."""
    if user.subject_name_id or user.is_superuser or user.is_staff:
        raise InvitationRefused  # those log in with PSC, or are reset in the admin
    user.set_unusable_password()
    user.save(update_fields=["password"])
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    open_invitations().filter(email__iexact=user.email).update(expires_at=timezone.now())
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=user.email.lower(),
        token_digest=digest(token),
        account=user,
        expires_at=timezone.now() + timedelta(days=settings.WEBMAIL_INVITATION_DAYS),
    )
    audit.record(None, "account.reset", target=user.email, request=request)
    link = invitation_link(request, token)
    return Invited(invitation, link, send_invitation(invitation, None, link, request))


def check_password(email: str, password: str, request: HttpRequest) -> tuple[User | None, str]:
    """First factor. Returns the user, or None and the reason ("password", "locked" or
    "throttled"). An unknown address costs the same time and counts like a known one."""
    if throttle.address_blocked(request):
        audit.record(None, "login.password", outcome=DENIED, response="throttled", request=request)
        return None, "throttled"
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if throttle.name_locked(request, email):
        audit.record(user, "login.password", outcome=DENIED, response="locked", request=request)
        return None, "locked"
    # The password backend only: authenticate() would also ask the OIDC backend.
    checked = ModelBackend().authenticate(
        request, username=user.username if user else email, password=password
    )
    if user is None or checked is None or checked.pk != user.pk:
        locked = throttle.count_failure(request, email)
        response = "locked" if locked else ""
        audit.record(user, "login.password", outcome=DENIED, response=response, request=request)
        return None, "locked" if locked else "password"
    return user, ""


def app_wait(device: AppDevice | None) -> int:
    """Seconds before the app's codes are checked again (django-otp's throttling doubles the
    wait after each wrong code): during them even a correct code is refused, so the person
    must be told to wait, not that the code is wrong. 0 when codes are checked now."""
    if device is None:
        return 0
    allowed, details = device.verify_is_allowed()
    until = (details or {}).get("locked_until") if not allowed else None
    if until is None:
        return 0
    seconds: float = (until - timezone.now()).total_seconds()
    return max(1, math.ceil(seconds))


def confirmed_app(user: User) -> AppDevice | None:
    found: AppDevice | None = AppDevice.objects.filter(user=user, confirmed=True).first()
    return found


def check_code(user: User, code: str, request: HttpRequest) -> tuple[Device | None, str]:
    """Second factor: a TOTP code (throttled by django-otp) or a single-use backup code.
    "wait": an app code given while django-otp makes the app wait (see app_wait)."""
    if throttle.name_locked(request, user.email):
        audit.record(user, "login.otp", outcome=DENIED, response="locked", request=request)
        return None, "locked"
    code = code.strip().replace(" ", "")
    waiting = code.isdigit() and app_wait(confirmed_app(user)) > 0
    device = None if waiting else match_token(user, code)
    if device is None:
        locked = throttle.count_failure(request, user.email)
        response = "locked" if locked else ("wait" if waiting else "")
        audit.record(user, "login.otp", outcome=DENIED, response=response, request=request)
        return None, "locked" if locked else ("wait" if waiting else "code")
    throttle.clear(request, user.email)
    audit.record(user, "login.password", request=request)
    return device, ""
