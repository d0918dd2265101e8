"""Login page, PSC callback with audit and identity binding, logout (ours and PSC's)."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from mailboxes import audit
from mailboxes.models import AuditEvent
from webmail.auth import session, throttle
from webmail.auth.forms import PasswordLoginForm

LOGIN_ERRORS = {
    "acr": _("Your authentication level is not sufficient: log in with your e-CPS card or app."),
    "provider": _("Pro Santé Connect cannot be reached right now. Please try again later."),
    "locked": _(
        "Too many failed attempts: this account is locked for a while. "
        "Try again in a few minutes; if you have lost your password or your authenticator "
        "app, ask your administrator to reset your access."
    ),
    "password": _("Wrong e-mail address or password."),
    "code": _("Wrong or already used code."),
    "throttled": _(
        "Too many failed login attempts from your network: please wait a few minutes "
        "before trying again."
    ),
}
LOGIN_ERROR_DEFAULT = _(
    "Pro Santé Connect did not let you in. Please try again; if it keeps failing, "
    "contact your administrator."
)
SESSION_ENDED = {
    "idle": _("Your session was locked after a period of inactivity. Please log in again."),
    "expired": _("Your session reached its maximum length. Please log in again."),
    "psc-refresh": _("Your Pro Santé Connect session has ended. Please log in again."),
}
SESSION_ENDED_DEFAULT = _("Your session has ended. Please log in again.")


def login_message(request: HttpRequest) -> str:
    if error := request.GET.get("error"):
        return str(LOGIN_ERRORS.get(error, LOGIN_ERROR_DEFAULT))
    if ended := request.GET.get("ended"):
        return str(SESSION_ENDED.get(ended, SESSION_ENDED_DEFAULT))
    return ""


def login_page(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("mail-home")
    context = {"message": login_message(request), "password_form": PasswordLoginForm()}
    return render(request, "registration/login.html", context)


class PSCRequestView(OIDCAuthenticationRequestView):
    """The start of a PSC login, unless this client address is throttled (throttle.py)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if throttle.address_blocked(request):
            audit.record(
                None,
                "login.psc",
                outcome=AuditEvent.Outcome.DENIED,
                response="throttled",
                request=request,
            )
            return HttpResponseRedirect(f"{reverse('auth-login')}?error=throttled")
        return super().get(request)  # type: ignore[no-any-return]


class PSCCallbackView(OIDCAuthenticationCallbackView):
    """The library's callback; then the session is bound to the identity, and audited."""

    def login_success(self) -> HttpResponse:
        response: HttpResponse = super().login_success()  # login() flushes another person's
        claims = getattr(self.request, "psc_claims", {})
        session.begin(
            self.request,
            session.PSC,
            sub=claims.get("sub", ""),
            snid=self.user.subject_name_id or "",
            tokens=getattr(self.request, "psc_tokens", None),
        )
        audit.record(self.user, "login.psc", request=self.request)
        return response

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, "psc_refusal", "refused")
        throttle.count_failure(self.request, None)
        audit.record(
            None,
            "login.psc",
            outcome=AuditEvent.Outcome.DENIED,
            response=reason,
            request=self.request,
        )
        category = reason if reason in LOGIN_ERRORS else "psc"
        return HttpResponseRedirect(f"{reverse('auth-login')}?error={category}")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """End our session, then PSC's (end_session with id_token_hint) when PSC opened it."""
    id_token = (request.session.get(session.TOKENS) or {}).get("id", "")
    if request.user.is_authenticated:
        audit.record(request.user, "logout", request=request)
    logout(request)
    if not id_token:
        return redirect("auth-login")
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("auth-login")),
        "state": secrets.token_urlsafe(16),
    }
    return HttpResponseRedirect(f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{urlencode(params)}")
