"""Mail pages: parse, authorise through mailboxes.access, read the cache (lists) or the
operator (messages), render."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache as django_cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from documents import summaries as health_summaries
from mailboxes import access, audit
from mailboxes.access import Action
from mailboxes.actions import syncing
from mailboxes.errors import OperatorRefused, OperatorUnavailable
from mailboxes.mail.folders import Listing, check_folder
from mailboxes.mailcache import cache, live
from mailboxes.models import AuditEvent, Folder, Mailbox, User
from webmail import rows
from webmail.auth import session
from webmail.converters import uid_from
from webmail.http import AuthedRequest
from webmail.templatetags import triage as triage_tags
from webmail.views import undo

PER_PAGE = 50
SORT_CHOICES = (
    ("date", _("Date")),
    ("from", _("Sender")),
    ("subject", _("Subject")),
    ("size", _("Size")),
)


def folder_of(request: HttpRequest) -> str:
    """The folder a request is about: links carry it in the query string, forms post it in
    their body (a form whose action URL carries it is also understood). Every view reads it
    here: reading only the query string sent a form's action to the INBOX message that had
    the same UID."""
    posted = request.POST.get("folder", "") if request.method == "POST" else ""
    try:
        return check_folder(posted or request.GET.get("folder", "INBOX"))
    except ValueError:
        raise Http404 from None


def listing_of(request: HttpRequest) -> Listing:
    sort = request.GET.get("sort", "date")
    return Listing(
        sort=sort if sort in cache.SORT_FIELDS else "date",
        descending=request.GET.get("order", "desc") != "asc",
        unread_only=request.GET.get("unread") == "1",
    )


def list_query(folder: str, listing: Listing) -> str:
    """The query string that names a list (folder, order, filter): carried by its messages'
    links, so the reader's "previous" and "next" walk the list as it was shown."""
    more = {}
    if listing.sort != "date":
        more["sort"] = listing.sort
    if not listing.descending:
        more["order"] = "asc"
    if listing.unread_only:
        more["unread"] = "1"
    folder_part = "folder=" + quote(folder, safe="/")  # as the rows always wrote it
    return f"{folder_part}&{urlencode(more)}" if more else folder_part


def audit_operator_login(
    request: HttpRequest, mailbox: Mailbox, error: OperatorUnavailable | None = None
) -> None:
    """Logins to the operator (CONF.17): every failure, and the first success per session.
    A refused command (a folder that does not exist...) comes after a successful login."""
    if isinstance(error, OperatorRefused):
        error = None
    key = f"operator_login:{mailbox.pk}"
    if error is None and request.session.get(key):
        return
    outcome = AuditEvent.Outcome.ERROR if error else AuditEvent.Outcome.OK
    audit.record(
        request.user,
        "operator.login",
        mailbox=mailbox,
        outcome=outcome,
        response=str(error or ""),
        request=request,
    )
    if error is None:
        request.session[key] = True


def audit_opening(request: HttpRequest, mailbox: Mailbox) -> None:
    """The first time in a session that someone opens a mailbox's lists (they show senders
    and subjects): once per session and mailbox, not for every page or poll."""
    key = f"mailbox_opened:{mailbox.pk}"
    if not request.session.get(key):
        audit.record(request.user, "mailbox.open", mailbox=mailbox, request=request)
        request.session[key] = True


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    first = access.mailboxes_for(request.user).first()
    if first is None:
        return render(request, "mail/no_mailbox.html")
    return redirect("mail-folder", mailbox_id=first.pk)


@login_required
def folder(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """A folder's list, from the cache. The sync runs in the background; the page listens to
    the mailbox's event stream (views/events.py), asks `changes` when it says the cache has
    moved on, and is redrawn."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    syncing.request_sync(mailbox)
    context = listing_context(request, mailbox)
    if context is None:
        raise Http404
    audit_opening(request, mailbox)
    state = context["state"]
    # Nothing cached and the operator turned us away: an error, not an empty mailbox.
    failed = state is not None and state.failing and "current" not in context
    context |= {
        "reading_pane": request.user.reading_pane,
        "pane_choices": User.ReadingPane.choices,
        "undo": undo.pending(request, mailbox),
    }
    return render(request, "mail/folder.html", context, status=503 if failed else 200)


@session.background  # asked by the page on its own: not the person's activity
@login_required
def changes(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """Asked by the open list (htmx) when its event stream says something moved, or every
    WEBMAIL_LIVE_FALLBACK_SECONDS without the stream: 204 while nothing changed for this
    page, else the list redrawn."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    syncing.request_sync(mailbox)
    if request.GET.get("v", "") == str(live.version(mailbox.pk)):
        state = cache.state_of(mailbox)
        if not (state and state.running):
            return HttpResponse(status=204)
    context = listing_context(request, mailbox)
    if context is None:
        raise Http404
    return render(request, "mail/listing.html", {**context, "oob_folders": True})


def readable_mailboxes(request: HttpRequest) -> SimpleLazyObject:
    """Every mailbox the person may read, with its unread count (the switcher), read once
    when first shown: triage's counts use the same list."""
    return SimpleLazyObject(lambda: cache.readable_with_unseen(request.user))


def listing_context(request: HttpRequest, mailbox: Mailbox) -> dict[str, Any] | None:
    """What the list shows; None when the folder is not (or no longer) in the mailbox."""
    allowed = mailbox.allowed
    folder_name, listing = folder_of(request), listing_of(request)
    # Read first: a change after this redraws again. The summaries' count: rows_of.
    version, summarised = live.versions(mailbox.pk)
    folders, state = cache.folders_and_state(mailbox)
    current = next((f for f in folders if f.name == folder_name), None)
    if current is None and state is not None and state.finished_at and not state.running:
        return None
    context: dict[str, Any] = {
        "mailbox": mailbox,
        "mailboxes": (readable := readable_mailboxes(request)),
        "readable_mailboxes": readable,  # for triage's counts (templatetags/triage.py)
        "folder": folder_name,
        "folders": folders,
        "listing_options": listing,
        "can_manage": Action.MANAGE in allowed,
        "can_triage": Action.TRIAGE in allowed,
        "can_send": Action.SEND in allowed,
        "sort_choices": SORT_CHOICES,
        "state": state,
        "version": version,
        "selected": {u for u in map(uid_from, request.GET.getlist("uid")) if u},
        "live_query": live_query(request),
        "live_fallback": settings.WEBMAIL_LIVE_FALLBACK_SECONDS,  # without the event stream
        "message_prefix": reverse("mail-folder", args=[mailbox.pk]) + "message/",
        "per_page": PER_PAGE,
        "list_query": list_query(folder_name, listing),
        "compose_url": reverse("mail-compose", args=[mailbox.pk]),
    }
    # Everything the kept switcher and folder list show (templates/mail/folder.html), asked
    # only by the page that draws them.
    context["switcher_key"] = lambda: (
        mailbox.pk,
        tuple((m.pk, str(m), m.unseen, m.address) for m in readable),
    )
    context["folder_list_key"] = lambda: (
        mailbox.pk,
        folder_name,
        tuple((f.name, f.special_use, f.unseen) for f in folders),
    )
    if current is None:
        return context  # the first sync has not reached this folder yet
    context |= {
        "current": current,
        "in_trash": current.special_use == "\\Trash",
        "in_drafts": current.special_use == "\\Drafts",
        # Sent and Drafts list whom the messages are for, as mail clients do.
        "shows_recipients": current.special_use in ("\\Sent", "\\Drafts"),
        "targets": [f for f in folders if f.name != folder_name],
    }
    context["listing"], context["rows_html"] = rows_of(request, context, version, summarised)
    page: cache.Page = context["listing"]
    # What the kept bulk actions and pager show (templates/mail/listing.html).
    context["bulk_key"] = lambda: (
        mailbox.pk,
        triage_tags.shared(mailbox),
        context["in_trash"],
        context["can_manage"],
        tuple((f.name, f.special_use) for f in context["targets"]),
    )
    context["pager_key"] = (
        folder_name,
        listing,
        *(page.start, page.shown, page.total, page.pages, page.number, page.newer, page.older),
    )
    return context


ROWS_SECONDS = 300


def rows_of(
    request: HttpRequest, context: dict[str, Any], version: int, summarised: int
) -> tuple[cache.Page, str]:
    """The page's rows, rendered: from Redis when this mailbox version, folder, order,
    position, rights, language and selection were rendered before (every reader of a shared
    mailbox sees the same rows; any change to the cache bumps the version), else queried and
    rendered. Not while a sync is filling the folder: its chunks do not bump the version."""
    folder: Folder = context["current"]
    older, newer = request.GET.get("older", ""), request.GET.get("newer", "")
    number, day = jump_of(request)
    state = context["state"]
    shape = repr(
        (
            # The folder's own state too: the key stays true to the database even if Redis
            # outlived it (a restored database, a test run after another).
            (folder.pk, folder.uidvalidity, folder.highestmodseq, folder.messages, folder.unseen),
            folder.name,
            context["listing_options"],
            older,
            newer,
            number,
            day,
            context["can_triage"],
            context["can_send"],
            get_language(),
            sorted(context["selected"]),
            summarised,  # a package of the mailbox summarised since (XDM-R2): live.summarised
        )
    )
    key = (
        f"webmail:rows2:{folder.mailbox_id}:{version}:{hashlib.sha256(shape.encode()).hexdigest()}"
    )
    cacheable = not (state and state.running)
    if cacheable and (hit := django_cache.get(key)) is not None:
        html, older_cursor, newer_cursor, first, start, shown = hit
        page = cache.Page(
            [], folder.messages, folder.unseen, older_cursor, newer_cursor, first, start, shown
        )
        if context["listing_options"].unread_only:
            page.total = folder.unseen
        return page, html
    page = cache.page(
        folder,
        context["listing_options"],
        PER_PAGE,
        older=older,
        newer=newer,
        number=number,
        day=day,
    )
    with_documents = [row.uid for row in page.rows if row.has_xdm]
    health = health_summaries.lines(folder, with_documents) if with_documents else {}
    drawing = rows.Shape(
        folder=context["folder"],
        message_prefix=context["message_prefix"],
        compose_url=context["compose_url"],
        can_triage=context["can_triage"],
        can_send=context["can_send"],
        in_drafts=context["in_drafts"],
        shows_recipients=context["shows_recipients"],
        selected=context["selected"],
        list_query=context["list_query"],
    )
    states = triage_tags.triage_states(context["mailbox"], page.rows)
    html = rows.render(page.rows, drawing, health, states) if page.rows else ""
    if cacheable:
        cached = (html, page.older, page.newer, page.first, page.start, page.shown)
        django_cache.set(key, cached, ROWS_SECONDS)
    return page, html


def jump_of(request: HttpRequest) -> tuple[int, date | None]:
    """The pager's jumps: to page `page` (1-based), or to the day `day` (YYYY-MM-DD, sorted by
    date). Anything else is no jump: the first page."""
    raw = request.GET.get("page", "")
    number = int(raw) if raw.isdigit() and len(raw) < 8 else 0
    try:
        day = date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") else None
    except ValueError:
        day = None
    return number, day


def live_query(request: HttpRequest) -> str:
    """The list's own query string, without the version and the selection."""
    kept = request.GET.copy()
    for name in ("v", "uid"):
        kept.pop(name, None)
    return kept.urlencode()
