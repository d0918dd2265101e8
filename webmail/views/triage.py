"""Triage pages: the block on a conversation (assign, status, labels, notes, history), the
lists ("Assigné à moi" across mailboxes, "Non assigné" and "Tous" per mailbox) with their
filters and bulk changes. Parse -> authorise (mailboxes.access) -> triage.actions -> answer."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache as django_cache
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language

from mailboxes import access, audit
from mailboxes.access import Action, Role
from mailboxes.errors import BadRequest
from mailboxes.models import AuditEvent, Mailbox, MessageIndex, User
from triage import actions, collisions, people, presence, queries, replies
from triage.models import Conversation, SavedReply
from webmail.auth import session
from webmail.converters import uid_from
from webmail.http import AuthedRequest
from webmail.views.mail import audit_opening, folder_of

MAX_BULK = 200
VIEWS = ("all", "unassigned", "mine")


def panel(request: AuthedRequest, mailbox: Mailbox, thread_key: str) -> dict[str, Any] | None:
    """What the conversation page's triage block shows (None: not a shared mailbox). Opening
    it marks the conversation read for this person only."""
    if not queries.is_shared(mailbox):
        return None
    conversation, events = queries.panel_state(mailbox, thread_key)
    if conversation is not None:
        queries.mark_read(request.user, conversation)
    status = conversation.status if conversation else Conversation.Status.NEW
    can_triage = Action.TRIAGE in mailbox.allowed
    team = people.roles_of(mailbox) if can_triage else []
    return {
        **state_forms(thread_key, conversation, status, team),
        "events": events,
        "status": status,
        "can_triage": can_triage,
        "handles": [people.handle(p) for p, _ in team],
        "live": live_context(request, mailbox, thread_key, writing=False),
    }


def state_forms(
    thread_key: str,
    conversation: Conversation | None,
    status: str,
    team: list[tuple[User, Role]],
) -> dict[str, Any]:
    """What the forms that follow a conversation's state show (templates/triage/
    state_forms.html): in its panel, and redrawn by `live` when the state changed."""
    return {
        "conversation": conversation,
        "thread": thread_key,
        "next_statuses": [
            (value, Conversation.Status(value).label)
            for value in Conversation.Status.values
            if value in actions.TRANSITIONS[status]
        ],
        "assignable": [p for p, role in team if role >= access.MINIMUM_ROLE[Action.TRIAGE]],
    }


def back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def conversation_url(mailbox: Mailbox, thread_key: str) -> str:
    return reverse("mail-conversation", args=[mailbox.pk]) + "?" + urlencode({"thread": thread_key})


def assignee_of(mailbox: Mailbox, value: str) -> User | None:
    """The person picked ("" = nobody); BadRequest for anyone who may not triage here."""
    if not value:
        return None
    person = User.objects.filter(pk=int(value) if value.isdigit() else 0).first()
    if person is None:
        raise BadRequest("no such person")
    return person


def apply(request: AuthedRequest, mailbox: Mailbox, thread_key: str) -> None:
    """One change of the triage block, as posted."""
    change, user, post = request.POST.get("change", ""), request.user, request.POST
    if change == "assign":
        assignee = assignee_of(mailbox, post.get("assignee", ""))
        actions.do_assign(user, mailbox, thread_key, assignee, request)
    elif change == "take":
        actions.do_assign(user, mailbox, thread_key, user, request)
    elif change == "status":
        actions.do_set_status(user, mailbox, thread_key, post.get("status", ""), request)
    elif change == "note":
        actions.do_add_note(user, mailbox, thread_key, post.get("text", ""), request)
    elif change in ("label", "unlabel"):
        label = post.get("label", "")
        actions.do_set_label(user, mailbox, thread_key, label, change == "label", request)
    else:
        raise BadRequest("unknown change")


@login_required
def change(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.TRIAGE, mailbox_id, request)
    if request.method != "POST":  # after access: a refusal looks the same either way
        return HttpResponseNotAllowed(["POST"])
    thread_key = request.POST.get("thread", "")
    if not MessageIndex.objects.filter(folder__mailbox=mailbox, thread_key=thread_key).exists():
        raise Http404  # only conversations the cache knows in this mailbox
    try:
        apply(request, mailbox, thread_key)
    except BadRequest:
        return HttpResponseBadRequest()
    return back(request, conversation_url(mailbox, thread_key))


def mailboxes_prefix() -> str:
    """ "/mailbox/": a list's rows append "<id>/conversation/" (no reverse() per row)."""
    return reverse("mail-folder", args=[1]).removesuffix("1/")


def filters_of(request: HttpRequest, view: str) -> queries.Filters:
    assignee = request.GET.get("assignee", "")
    return queries.Filters(
        view=view,
        status=request.GET.get("status", ""),
        label=request.GET.get("label", "")[:40],
        assignee=int(assignee) if assignee.isdigit() else None,
    )


def page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return min(int(value), 1000) if value.isdigit() and int(value) > 0 else 1


MINE_ROWS_SECONDS = 300


def row_values(listing: queries.Listing) -> list[dict[str, Any]]:
    """What triage/rows.html shows of each row, as plain values."""
    statuses = dict(Conversation.Status.choices)
    return [
        {
            "thread_key": (c := row.conversation).thread_key,
            "mailbox": str(c.mailbox),
            "mailbox_id": c.mailbox_id,
            "status": c.status,
            "status_label": statuses.get(c.status, c.status),
            "labels": c.labels,
            "assignee": str(c.assignee) if c.assignee else "",
            "at": c.last_message_at,
            "at_iso": c.last_message_at.isoformat(),
            "unread": row.unread,
            "message": row.message,
        }
        for row in listing.rows
    ]


def mine_rows(request: AuthedRequest, filters: queries.Filters, number: int) -> queries.Listing:
    """ "Assigné à moi"'s rows, rendered (`html`): from the cache while nothing they show
    changed (the state of each mailbox the person may read and of their own read marks,
    queries.state_of, read before the rows are), else queried and rendered. The mailboxes
    shown are audited as opened either way (senders and subjects: once per session)."""
    person = request.user
    readable = {m.pk: m for m in access.mailboxes_for(person)}
    state = queries.state_of(person, sorted(readable))
    # The person's own row too: the key stays true to the database if Redis outlived it.
    shape = repr((person.date_joined, filters, number, get_language(), sorted(readable), state))
    key = f"webmail:triage:mine:{person.pk}:{hashlib.sha256(shape.encode()).hexdigest()}"
    hit = django_cache.get(key)
    if hit is None:
        rows = queries.filtered(Conversation.objects.assigned_to(person), filters, person)
        listing = queries.page(rows, person, number)
        context = {
            "rows": row_values(listing),
            "mailbox": None,
            "conversation_prefix": mailboxes_prefix(),
        }
        html = render_to_string("triage/rows.html", context) if listing.rows else ""
        shown = sorted({row.conversation.mailbox_id for row in listing.rows})
        hit = (html, listing.more, shown)
        django_cache.set(key, hit, MINE_ROWS_SECONDS)
    html, more, shown = hit
    for pk in shown:
        if pk in readable:
            audit_opening(request, readable[pk])
    return queries.Listing(more=more, html=html)


@login_required
def mine(request: AuthedRequest) -> HttpResponse:
    """ "Assigné à moi": the person's conversations in every mailbox they may still read."""
    filters = filters_of(request, "mine")
    listing = mine_rows(request, filters, page_number(request))
    context = {
        "listing": listing,
        "rows_html": listing.html,
        "filters": filters,
        "statuses": Conversation.Status.choices,
        "mailbox": None,
        "page": page_number(request),
        "conversation_prefix": mailboxes_prefix(),
    }
    return render(request, "triage/list.html", context)


@login_required
def mailbox_list(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """A shared mailbox's conversations: "Tous", "Non assigné" or mine, with filters."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    if not queries.is_shared(mailbox):
        raise Http404
    queries.ensure_backfilled(mailbox)
    audit_opening(request, mailbox)
    actions.do_release_lost(mailbox)  # an expired delegation sends no event
    view = request.GET.get("view", "all")
    filters = filters_of(request, view if view in VIEWS else "all")
    rows = queries.filtered(Conversation.objects.filter(mailbox=mailbox), filters, request.user)
    can_triage = Action.TRIAGE in mailbox.allowed
    listing = queries.page(rows, request.user, page_number(request))
    context = {
        "listing": listing,
        "rows": row_values(listing),
        "filters": filters,
        "statuses": Conversation.Status.choices,
        "mailbox": mailbox,
        "labels": queries.labels_in(mailbox),
        "assignable": people.people_of(mailbox, Action.TRIAGE) if can_triage else [],
        "can_triage": can_triage,
        "page": page_number(request),
        "conversation_prefix": mailboxes_prefix(),
    }
    return render(request, "triage/list.html", context)


def threads_posted(request: HttpRequest, mailbox: Mailbox) -> list[str]:
    """The conversations a bulk change is for: posted as threads (the triage list) or as
    the UIDs of one folder's messages (the mail list's own form)."""
    threads = request.POST.getlist("thread")[:MAX_BULK]
    uids = [uid_from(value) for value in request.POST.getlist("uid")[:MAX_BULK]]
    if any(uid is None for uid in uids):
        raise BadRequest("not a UID")
    if uids:
        folder = folder_of(request)
        threads += MessageIndex.objects.filter(
            folder__mailbox=mailbox, folder__name=folder, uid__in=uids
        ).values_list("thread_key", flat=True)
    known = MessageIndex.objects.filter(folder__mailbox=mailbox, thread_key__in=threads)
    return sorted(set(known.values_list("thread_key", flat=True)))


def bulk_assignee(request: AuthedRequest, mailbox: Mailbox) -> tuple[bool, User | None]:
    """(whether to assign, to whom): "me", "none" (unassign) or a person's id."""
    value = request.POST.get("triage_assign", "")
    if not value:
        return False, None
    if value == "me":
        return True, request.user
    return True, None if value == "none" else assignee_of(mailbox, value)


@login_required
def bulk(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """Assign, or set the status of, several conversations at once. A conversation the
    status cannot go to from where it is keeps its own (the others change)."""
    mailbox = access.mailbox_or_404(request.user, Action.TRIAGE, mailbox_id, request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    status = request.POST.get("triage_status", "")
    try:
        threads = threads_posted(request, mailbox)
        assign, assignee = bulk_assignee(request, mailbox)
        if status and status not in Conversation.Status.values:
            raise BadRequest("no such status")
        for thread_key in threads:
            if assign:
                actions.do_assign(request.user, mailbox, thread_key, assignee, request)
            if status:
                with contextlib.suppress(BadRequest):
                    actions.do_set_status(request.user, mailbox, thread_key, status, request)
    except BadRequest:
        return HttpResponseBadRequest()
    return back(request, reverse("triage-list", args=[mailbox.pk]))


def panel_of_message(
    request: AuthedRequest, mailbox: Mailbox, thread_key: str
) -> dict[str, Any] | None:
    """The triage block under one message: its conversation's, when the cache knows it."""
    return panel(request, mailbox, thread_key) if thread_key else None


# --- Presence and collisions --------------------------------------------------------------


def live_context(
    request: AuthedRequest,
    mailbox: Mailbox,
    thread_key: str,
    *,
    writing: bool,
    start: str = "",
    page: str = "",
) -> dict[str, Any]:
    """Who else is there, the conversation's state now, and (for a reply page: `writing`)
    what others changed since it started. Being asked is being there (as this `page`: a page
    just drawn gets its id here); writing is typing (the `typing` view)."""
    page = page if presence.PAGE.match(page) else presence.new_page()
    others = presence.touch(mailbox.pk, thread_key, request.user, page)
    conversation = Conversation.objects.filter(mailbox=mailbox, thread_key=thread_key).first()
    started = collisions.read_start(mailbox, start) if start else None
    status = conversation.status if conversation else Conversation.Status.NEW
    return {
        "thread": thread_key,
        "thread_id": presence.thread_id(mailbox.pk, thread_key),
        "page": page,
        "heartbeat": presence.HEARTBEAT_SECONDS,
        "fallback": settings.WEBMAIL_LIVE_FALLBACK_SECONDS,
        "others": others,
        "conversation": conversation,
        "status": status,
        "status_label": Conversation.Status(status).label,
        "version": conversation.version if conversation else 0,
        "digest": presence.digest(others),
        "writing": writing,
        "start": start,
        "changes": collisions.changes_since(mailbox, started, request.user) if started else [],
    }


def known_thread(request: HttpRequest, mailbox: Mailbox) -> str:
    """The conversation asked about (Http404 unless the cache knows it in this mailbox)."""
    source = request.POST if request.method == "POST" else request.GET
    thread_key = source.get("thread", "")
    if not MessageIndex.objects.filter(folder__mailbox=mailbox, thread_key=thread_key).exists():
        raise Http404
    return thread_key


@session.background  # asked on the page's own (heartbeat, redraws): not the person's activity
@login_required
def live(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """The live panel of a conversation and of a reply being written, asked when the event
    stream says the conversation changed (`triage` events) and every HEARTBEAT_SECONDS (the
    page is still there): 204 while nothing changed, else the presence line and the state
    redrawn, and the conversation's history with them (out of band) on its page."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    thread_key = known_thread(request, mailbox)
    writing = request.GET.get("writing") == "1" and Action.SEND in mailbox.allowed
    state = live_context(
        request,
        mailbox,
        thread_key,
        writing=writing,
        start=request.GET.get("start", ""),
        page=request.GET.get("page", ""),
    )
    seen = (request.GET.get("v", ""), request.GET.get("p", ""))
    if seen == (str(state["version"]), state["digest"]):
        return HttpResponse(status=204)
    context: dict[str, Any] = {"mailbox": mailbox, "l": state}
    if not writing and request.GET.get("history") == "1":
        context.update(history=True, events=queries.panel_state(mailbox, thread_key)[1])
        # Where the panel's forms go back to, as the page drew them (`back` checks it again).
        back_to = request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(back_to, allowed_hosts={request.get_host()}):
            context["next"] = back_to
        if Action.TRIAGE in mailbox.allowed:
            team = people.roles_of(mailbox)
            status = state["status"]
            context["t"] = state_forms(thread_key, state["conversation"], status, team)
    return render(request, "triage/live_redraw.html", context)


@login_required
def typing(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """The composer of a reply says its person is typing (static/js/typing.js, throttled), or
    stopped (`stopped=1`, after presence.TYPING_SECONDS without a key): the others see "X is
    writing a reply" meanwhile, told at once over their event stream."""
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    thread_key = known_thread(request, mailbox)
    page = request.POST.get("page", "")
    if not presence.PAGE.match(page):
        return HttpResponseBadRequest()
    if request.POST.get("stopped") == "1":
        presence.stopped_typing(mailbox.pk, thread_key, request.user, page)
    else:
        presence.typing(mailbox.pk, thread_key, request.user, page)
    return HttpResponse(status=204)


@session.background  # sent as the page goes (a beacon): not the person's activity
@login_required
def leave(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """A conversation's page, or a reply's, was hidden, closed or left
    (static/js/triage_live.js, navigator.sendBeacon): the others no longer see it there."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    page = request.POST.get("page", "")
    if not presence.PAGE.match(page):
        return HttpResponseBadRequest()
    # Only this person's stamps of this page go: no need to ask the cache about the thread.
    presence.leave(mailbox.pk, request.POST.get("thread", ""), request.user, page)
    return HttpResponse(status=204)


def reply_context(
    request: AuthedRequest, mailbox: Mailbox, in_reply_to: str
) -> dict[str, Any] | None:
    """For the composer of a reply in a shared mailbox: the signed start, and the live line
    that says who else is there and writing."""
    thread_key = collisions.thread_replied_to(mailbox, in_reply_to)
    if not thread_key or not queries.is_shared(mailbox):
        return None
    start = request.POST.get("triage_start", "") or collisions.start(
        mailbox, thread_key, timezone.now()
    )
    return {
        "start": start,
        "live": live_context(request, mailbox, thread_key, writing=True, start=start),
        "throttle_ms": presence.TYPING_THROTTLE_MS,
        "idle_ms": presence.TYPING_SECONDS * 1000,
    }


def composer_replies(request: AuthedRequest, mailbox: Mailbox, to: str) -> list[replies.Filled]:
    """The structure's saved replies, filled in for this message, for the composer."""
    return replies.for_reply(mailbox, request.user, to)


def stopped_reply(request: AuthedRequest, mailbox: Mailbox) -> dict[str, Any] | None:
    """A reply whose conversation others changed since it started, and not "send anyway":
    what changed, for the composer to show with the choice. Audited (no content)."""
    token = request.POST.get("triage_start", "")
    started = collisions.read_start(mailbox, token) if token else None
    if started is None or request.POST.get("send_anyway") == "1":
        return None
    changes = collisions.changes_since(mailbox, started, request.user)
    if not changes:
        return None
    audit.record(
        request.user,
        "reply.stopped",
        mailbox=mailbox,
        target=f"{started.thread_key} changes={len(changes)}",
        outcome=AuditEvent.Outcome.DENIED,
        request=request,
    )
    return {"changes": changes, "conversation_url": conversation_url(mailbox, started.thread_key)}


# --- Saved replies --------------------------------------------------------------------------


@login_required
def saved_replies(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """The saved replies of the mailbox's structure: its managers write, change and delete
    them (placeholders: triage.replies.PLACEHOLDERS)."""
    mailbox = access.mailbox_or_404(request.user, Action.MANAGE, mailbox_id, request)
    if mailbox.structure_id is None:
        raise Http404
    if request.method == "POST":
        post = request.POST
        chosen = SavedReply.objects.filter(
            pk=int(post["reply"]) if post.get("reply", "").isdigit() else 0,
            structure_id=mailbox.structure_id,
        ).first()
        try:
            if post.get("delete") and chosen is not None:
                replies.do_delete_reply(request.user, mailbox, chosen, request)
            else:
                replies.do_save_reply(
                    request.user, mailbox, post.get("title", ""), post.get("text", ""),
                    chosen, request,
                )  # fmt: skip
        except BadRequest:
            return HttpResponseBadRequest()
        return redirect("triage-replies", mailbox_id=mailbox.pk)
    context = {
        "mailbox": mailbox,
        "replies": replies.of_structure(mailbox.structure_id),
        "placeholders": replies.PLACEHOLDERS,
    }
    return render(request, "triage/replies.html", context)
