"""Local accounts for people without e-CPS: invitation, password, TOTP, backup codes.

Actions own their transaction and their audit event; views only parse and render.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailboxes import audit
from mailboxes.models import AuditEvent, Invitation, Structure, User

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django_otp.models import Device

BACKUP_CODES = 10
DENIED = AuditEvent.Outcome.DENIED


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def do_invite(
    inviter: User, email: str, request: HttpRequest, structure: Structure | None = None
) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link (no health data in it). Returns the link."""
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email.strip().lower(),
        token_digest=digest(token),
        invited_by=inviter,
        structure=structure,
        expires_at=timezone.now() + timedelta(days=settings.WEBMAIL_INVITATION_DAYS),
    )
    link = request.build_absolute_uri(f"/invitation/{token}/")
    context = {"inviter": inviter, "link": link, "invitation": invitation}
    transaction.on_commit(
        lambda: send_mail(
            _("Your access to the MSSanté webmail"),
            render_to_string("auth/invitation_email.txt", context),
            None,
            [invitation.email],
        )
    )
    audit.record(inviter, "invitation.create", target=invitation.email, request=request)
    return invitation, link


def open_invitation(token: str) -> Invitation | None:
    """The invitation for this token if it can still be used."""
    return Invitation.objects.filter(
        token_digest=digest(token), accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


@transaction.atomic
def do_set_password(invitation: Invitation, password: str) -> User:
    """The invited account (an existing one with that e-mail, else a new one), new password,
    previous one-time-code devices removed: enrolment starts again."""
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        user = User(username=invitation.email, email=invitation.email)
    user.set_password(password)
    user.failed_logins, user.locked_until = 0, None
    user.save()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    return user


def start_totp(user: User) -> TOTPDevice:
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    backup_codes: list[str]


@transaction.atomic
def do_confirm_totp(
    invitation: Invitation, user: User, device: TOTPDevice, code: str, request: HttpRequest
) -> Enrolment | None:
    """Confirm the app with a code it shows; then issue backup codes and close the invitation."""
    if not device.verify_token(code.strip()):
        audit.record(user, "otp.enrol", outcome=DENIED, request=request)
        return None
    device.confirmed = True
    device.save()
    backup = StaticDevice.objects.create(user=user, name=_("Backup codes"))
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=backup, token=c) for c in codes)
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(user, "invitation.accept", target=invitation.email, request=request)
    return Enrolment(device=device, backup_codes=codes)


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


def record_failure(user: User, step: str, request: HttpRequest) -> None:
    """Count a failed password or code; lock the account after too many in a row."""
    user.failed_logins += 1
    locking = user.failed_logins >= settings.WEBMAIL_LOGIN_MAX_FAILURES
    if locking:
        user.locked_until = timezone.now() + timedelta(minutes=settings.WEBMAIL_LOGIN_LOCK_MINUTES)
        user.failed_logins = 0
    user.save(update_fields=["failed_logins", "locked_until"])
    audit.record(
        user, f"login.{step}", outcome=DENIED, response="locked" if locking else "", request=request
    )


def check_password(email: str, password: str, request: HttpRequest) -> tuple[User | None, str]:
    """First factor. Returns the user, or None and the reason ("password" or "locked")."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        authenticate(request, username=email, password=password)  # same time as a real check
        audit.record(None, "login.password", outcome=DENIED, request=request)
        return None, "password"
    if is_locked(user):
        audit.record(user, "login.password", outcome=DENIED, response="locked", request=request)
        return None, "locked"
    if authenticate(request, username=user.username, password=password) is None:
        record_failure(user, "password", request)
        return None, "locked" if is_locked(user) else "password"
    return user, ""


def check_code(user: User, code: str, request: HttpRequest) -> tuple[Device | None, str]:
    """Second factor: a TOTP code (throttled by django-otp) or a single-use backup code."""
    if is_locked(user):
        audit.record(user, "login.otp", outcome=DENIED, response="locked", request=request)
        return None, "locked"
    device = match_token(user, code.strip().replace(" ", ""))
    if device is None:
        record_failure(user, "otp", request)
        return None, "locked" if is_locked(user) else "code"
    user.failed_logins, user.locked_until = 0, None
    user.save(update_fields=["failed_logins", "locked_until"])
    audit.record(user, "login.password", request=request)
    return device, ""
