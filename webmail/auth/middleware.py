from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import patch_cache_control

from mailboxes import audit
from mailboxes.actions import sending
from mailboxes.models import AuditEvent, User
from mailboxes.operator import strategies
from webmail import push
from webmail.auth import session


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every page we build: lists, messages, the outbox and the
    audit carry health data, the login and enrolment pages one-time secrets, and Chromium
    keeps a page on disk after logout unless told not to. Static files are answered before
    this (WhiteNoise, with their own caching); a response that set Cache-Control keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response


class SessionPolicyMiddleware:
    """Ends a session that breaks its binding, idles too long, or that PSC no longer accepts.

    Placed after AuthenticationMiddleware and OTPMiddleware. An ended session keeps nothing:
    the next person in this browser starts from an empty session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        activity = not is_background(request)
        if request.user.is_authenticated and (
            reason := session.problem(request, activity=activity)
        ):
            audit.record(
                request.user,
                "session.end",
                outcome=AuditEvent.Outcome.DENIED,
                response=reason,
                request=request,
            )
            logout(request)
            return to_login(request, f"{reverse('auth-login')}?ended={reason}")
        tokens = request.session.get(session.TOKENS) if request.user.is_authenticated else None
        bound = strategies.psc_access_token.set(tokens["access"] if tokens else None)
        try:
            if tokens and activity and isinstance(request.user, User):  # their token is here
                sending.send_waiting(request.user)  # what waited for the person goes
            response = self.get_response(request)
        finally:
            strategies.psc_access_token.reset(bound)
        return to_login_if_sent_there(request, response)


def to_login_if_sent_there(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """login_required's redirect, for htmx, as a header it follows with the whole page: a
    session ended elsewhere (logged out in another tab) must not draw the login page into
    the list. For the list's event stream, as an event the page follows (webmail/push.py)."""
    login = reverse("auth-login")
    location = response.get("Location", "") if response.status_code == 302 else ""
    if location.split("?")[0] != login or not (is_htmx(request) or push.wants_stream(request)):
        return response
    return to_login(request, login)  # not ?next=: it names the fragment or the stream


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def is_background(request: HttpRequest) -> bool:
    """Whether the view asked for is one the page calls on its own (session.background)."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return bool(getattr(match.func, session.BACKGROUND, False))


def to_login(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect; for htmx, a header it follows with the whole page (a plain redirect would
    be followed by the XMLHttpRequest and the login page swapped into the list); for the
    list's event stream (whose EventSource would follow a redirect and fail on the page), an
    event the page follows, so the login page still says why (?ended=idle)."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    if push.wants_stream(request):
        return push.ended(url)
    return redirect(url)


class MethodNotAllowedPageMiddleware:
    """A form-only address opened as a link (a bookmark, a pasted URL) answered an empty 405,
    and the browser showed its own English error page: say it in the site's words instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.method != "GET":
            return response
        page = render(request, "405.html", status=405)
        page["Allow"] = response.get("Allow", "")
        return page
