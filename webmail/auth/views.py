"""Login page, PSC callback with audit and identity binding, logout."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from mailboxes import audit
from mailboxes.models import AuditEvent

SESSION_IDENTITY = "psc_identity"


def login_page(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("mail-home")
    return render(request, "registration/login.html", {"failed": "error" in request.GET})


class PSCCallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """The library's callback, plus an audit event for both outcomes."""

    @property
    def failure_url(self) -> str:
        return reverse("auth-login") + "?error=psc"

    def login_success(self) -> HttpResponse:
        response: HttpResponse = super().login_success()
        user = self.user
        # Bound identity: a later mismatch ends the session (see the identity work).
        self.request.session[SESSION_IDENTITY] = user.subject_name_id
        audit.record(user, "login.psc", request=self.request)
        return response

    def login_failure(self) -> HttpResponse:
        audit.record(None, "login.psc", outcome=AuditEvent.Outcome.DENIED, request=self.request)
        return HttpResponseRedirect(self.failure_url)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(request.user, "logout", request=request)
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)
