"""The tab's event stream on a mailbox (webmail/push.py), for its open list and an open
conversation's live panel: one long-lived response per tab, checked as `changes` is (READ
on the mailbox through mailboxes.access), in the background like it
(webmail.auth.session.background: an open tab is not the person's activity)."""

from __future__ import annotations

import logging
from typing import cast

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase

from mailboxes import access
from mailboxes.access import Action
from mailboxes.models import User
from webmail import push
from webmail.auth import session

logger = logging.getLogger(__name__)


@session.background
@login_required
async def events(request: HttpRequest, mailbox_id: int) -> HttpResponseBase:
    """text/event-stream: `changed` when the mailbox's version moves, `progress` when its
    sync does, `triage` when one of its conversations does (by an opaque id), heartbeats;
    the page then asks `changes` for the list itself, `triage-live` for a conversation."""
    user = cast(User, await request.auser())  # login_required let the request through
    opened = await sync_to_async(open_stream)(request, user, mailbox_id)
    if opened is None:
        return HttpResponseNotFound()  # nobody reads an event stream's error page
    if isinstance(request, ASGIRequest):
        body = push.async_stream(opened)
    elif request.META.get("wsgi.multithread"):
        body = push.sync_stream(opened)  # type: ignore[assignment]  # either kind streams
    else:
        # One stream would hold a whole single-threaded worker (gunicorn's sync workers): the
        # page falls back to its slow poll. The events server (deploy/) should serve this path.
        logger.warning("event stream asked of a single-threaded WSGI worker: refused")
        return HttpResponse(status=503)
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def open_stream(request: HttpRequest, user: User, mailbox_id: int) -> push.Opened | None:
    """The access check of `changes` (a refusal is the same 404, audited), then what the
    stream needs to know, read while the request's session is at hand: until when it may
    last (the session's next check, the person's delegation expiring). None for the 404:
    raised out of an async view, Django would draw its page in a thread of the shared pool,
    whose database connection nothing closes."""
    try:
        mailbox = access.mailbox_or_404(user, Action.READ, mailbox_id, request)
    except Http404:
        return None
    ends = access.access_ends_at(user, mailbox)  # a delegation expiring: reconnection refused
    return push.Opened(
        user,
        mailbox,
        seen_version(request),
        session_key=request.session.session_key or "",
        until=session.next_check(request.session),
        expires=ends.timestamp() if ends else None,
    )


def seen_version(request: HttpRequest) -> int | None:
    """The version the page has: a reconnection's Last-Event-ID, else the page's own `v`."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("v", "")
    return int(raw) if raw.isdigit() else None
