"""Pages of the password + one-time-code door and of invitations."""

from __future__ import annotations

import base64
import time

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from mailboxes import access, audit
from mailboxes.models import AppDevice, AuditEvent, Invitation, User
from webmail.auth import local, session, throttle
from webmail.auth.forms import (
    CodeForm,
    InvitationTokenForm,
    InviteForm,
    NewPasswordForm,
    PasswordLoginForm,
)
from webmail.auth.views import LOGIN_ERRORS
from webmail.http import AuthedRequest

PENDING = "auth_pending"  # password checked, code not yet
INVITED = "auth_invited"  # invitation token checked, password not yet chosen
ENROLLING = "auth_enrolling"  # password chosen, app not yet confirmed
BACKUP_CODES = "auth_backup_codes"  # shown once, right after enrolment
PENDING_SECONDS = 300
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def failed(reason: str) -> HttpResponse:
    return redirect(f"{reverse('auth-login')}?error={reason}")


def finish_login(request: HttpRequest, user: User, device: object) -> None:
    login(request, user, backend=MODEL_BACKEND)  # flushes another person's session
    otp_login(request, device)
    session.begin(request, session.PASSWORD)


@require_POST
def password_login(request: HttpRequest) -> HttpResponse:
    form = PasswordLoginForm(request.POST)
    if not form.is_valid():
        return failed("password")
    user, reason = local.check_password(
        form.cleaned_data["email"], form.cleaned_data["password"], request
    )
    if user is None:
        return failed(reason)
    request.session[PENDING] = {"user": user.pk, "since": time.time()}
    return redirect("auth-code")


def pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["since"] > PENDING_SECONDS:
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


def code_login(request: HttpRequest) -> HttpResponse:
    user = pending_user(request)
    if user is None:
        return redirect("auth-login")
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        device, reason = local.check_code(user, form.cleaned_data["code"], request)
        if device is not None:
            finish_login(request, user, device)
            return redirect("mail-home")
        if reason in ("locked", "throttled"):
            request.session.pop(PENDING, None)
            return failed(reason)
        waited = local.app_wait(local.confirmed_app(user)) if reason == "wait" else 0
        error = wait_error(waited) if waited else str(local_error(reason))
    return render(request, "auth/code.html", {"form": form, "error": error})


def local_error(reason: str) -> str:
    return str(LOGIN_ERRORS.get(reason, LOGIN_ERRORS["code"]))


def wait_error(seconds: int) -> str:
    """django-otp checks no app code for a while after a wrong one: say so, not "wrong"."""
    return ngettext(
        "After a wrong code, the next one is checked only after a short wait: wait "
        "%(seconds)s second, then type the code your app shows.",
        "After a wrong code, the next one is checked only after a short wait: wait "
        "%(seconds)s seconds, then type the code your app shows.",
        seconds,
    ) % {"seconds": seconds}


def invitation(request: HttpRequest) -> HttpResponse:
    """The invitation link's page. Its token comes in the URL's fragment, which browsers
    never send: static/js/invitation.js posts it here (or the person pastes it)."""
    form = InvitationTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        blocked = throttle.address_blocked(request)
        found = None if blocked else local.open_invitation(form.cleaned_data["token"])
        if found is None:  # a guess counts like a failed login, and is traced
            throttle.count_failure(request, None)
            response = "throttled" if blocked else "unknown or used"
            audit.record(None, "invitation.open", outcome=AuditEvent.Outcome.DENIED,
                         response=response, request=request)  # fmt: skip
            return render(request, "auth/invitation_invalid.html", status=404)
        request.session[INVITED] = {"invitation": found.pk, "since": time.time()}
        return redirect("auth-invitation-password")
    return render(request, "auth/invitation_open.html", {"form": form})


def invited(request: HttpRequest) -> Invitation | None:
    state = request.session.get(INVITED)
    if not state or time.time() - state["since"] > PENDING_SECONDS * 6:
        return None
    return local.open_invitations().filter(pk=state["invitation"]).first()


def invitation_password(request: HttpRequest) -> HttpResponse:
    found = invited(request)
    if found is None:
        return render(request, "auth/invitation_invalid.html", status=404)
    form = NewPasswordForm(request.POST or None, email=found.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = local.do_set_password(found, form.cleaned_data["password1"], request)
        except local.InvitationRefused:
            request.session.pop(INVITED, None)
            return render(request, "auth/invitation_refused.html", status=409)
        request.session.pop(INVITED, None)
        return start_enrolment(request, user, found)
    return render(request, "auth/invitation.html", {"form": form, "invitation": found})


def start_enrolment(request: HttpRequest, user: User, found: Invitation | None) -> HttpResponse:
    device = local.start_totp(user)
    request.session[ENROLLING] = {
        "invitation": found.pk if found else None,
        "user": user.pk,
        "device": device.pk,
    }
    return redirect("auth-enrol")


@login_required
def add_password(request: AuthedRequest) -> HttpResponse:
    """A professional logged in with Pro Santé Connect adds the password door to their own
    account (for a day without their e-CPS): started by the person, never by an invitation."""
    identity = request.session.get(session.IDENTITY) or {}
    if identity.get("method") != session.PSC:
        raise PermissionDenied
    form = NewPasswordForm(request.POST or None, email=request.user.email)
    if request.method == "POST" and form.is_valid():
        local.do_add_password(request.user, form.cleaned_data["password1"], request)
        return start_enrolment(request, request.user, None)
    return render(request, "auth/add_password.html", {"form": form})


def enrolling(request: HttpRequest) -> tuple[Invitation | None, AppDevice] | None:
    """The enrolment under way in this browser: through an invitation, or by the logged-in
    person themselves."""
    state = request.session.get(ENROLLING)
    if not state:
        return None
    found = None
    if state["invitation"] is not None:
        found = Invitation.objects.filter(
            pk=state["invitation"], accepted_at__isnull=True, account_id=state["user"]
        ).first()
        if found is None:
            return None
    elif not request.user.is_authenticated or request.user.pk != state["user"]:
        return None
    device = AppDevice.objects.filter(
        pk=state["device"], user_id=state["user"], confirmed=False
    ).first()
    return None if device is None else (found, device)


def enrol(request: HttpRequest) -> HttpResponse:
    under_way = enrolling(request)
    if under_way is None:
        return redirect("auth-login")
    found, device = under_way
    form = CodeForm(request.POST or None)
    error = ""
    waited = local.app_wait(device) if request.method == "POST" else 0
    if waited:
        error = wait_error(waited)  # the code is not checked now: it would be refused
    elif request.method == "POST" and form.is_valid():
        enrolment = local.do_confirm_totp(
            found, device.user, device, form.cleaned_data["code"], request
        )
        if enrolment is not None:
            request.session.pop(ENROLLING, None)
            if found is not None:
                finish_login(request, device.user, device)
            request.session[BACKUP_CODES] = enrolment.backup_codes
            return redirect("auth-backup-codes")
        error = local_error("code")
    context = {
        "form": form,
        "error": error,
        "qr": qr_svg(device.config_url),
        "secret": base64.b32encode(device.bin_key).decode(),
    }
    return render(request, "auth/enrol.html", context)


def qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")  # type: ignore[no-any-return]


@login_required
def backup_codes(request: AuthedRequest) -> HttpResponse:
    codes = request.session.pop(BACKUP_CODES, None)
    if not codes:
        return redirect("mail-home")
    return render(request, "auth/backup_codes.html", {"codes": codes})


@login_required
def invite(request: AuthedRequest) -> HttpResponse:
    if not access.can_invite(request.user):
        raise PermissionDenied
    form = InviteForm(request.POST or None, user=request.user)
    context: dict[str, object] = {"form": form}
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        invited = local.do_invite(request.user, email, request, form.cleaned_data["structure"])
        context |= {
            "sent_to": email,
            "exists": invited.invitation is None,
            "undelivered": invited.invitation is not None and not invited.delivered,
            "link": invited.link if settings.WEBMAIL_SHOW_INVITATION_LINKS else "",
            "form": InviteForm(user=request.user),
        }
    return render(request, "auth/invite.html", context)
