"""Actions on messages, by UID: parse, authorise, call mailboxes.actions.messages, answer.
The action does the operator call, the cache correction and the audit event."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from mailboxes import access
from mailboxes.access import Action
from mailboxes.actions import messages
from mailboxes.errors import BadRequest, OperatorRefused, OperatorUnavailable
from mailboxes.mailcache import cache
from mailboxes.models import Mailbox
from webmail.converters import uid_from
from webmail.http import AuthedRequest
from webmail.views import undo
from webmail.views.mail import folder_of
from webmail.views.redirects import back

MAX_UIDS = 500


def uids_of(request: HttpRequest) -> list[int] | None:
    """The UIDs posted; None if one of them is not a UID (refused before the operator)."""
    uids = [uid_from(value) for value in request.POST.getlist("uid")[:MAX_UIDS]]
    return None if None in uids else uids  # type: ignore[return-value]


def failed(request: HttpRequest, mailbox: Mailbox, folder: str, exc: Exception) -> HttpResponse:
    # Unreachable: 503; refused by the server or a bad request of ours: 400.
    status = 400 if isinstance(exc, (OperatorRefused, BadRequest)) else 503
    context = {"mailbox": mailbox, "folder": folder}
    return render(request, "mail/action_failed.html", context, status=status)


@login_required
def messages_action(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.TRIAGE, mailbox_id, request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    folder, action, uids = folder_of(request), request.POST.get("action", ""), uids_of(request)
    if uids is None:
        return HttpResponseBadRequest()
    if action not in messages.ACTIONS or not uids:
        return back(request, mailbox, folder)
    if action == "delete" and folder == cache.trash_name(mailbox):
        return delete_for_good(request, mailbox, folder, uids)
    try:
        moved = messages.do_message_action(
            request.user, mailbox, folder, action, uids, request.POST.get("target", ""), request
        )
    except (OperatorUnavailable, BadRequest) as exc:
        return failed(request, mailbox, folder, exc)
    if moved is not None:
        undo.offer(request, mailbox, moved)  # "Annuler" for a few seconds
    return back(request, mailbox, folder)


def delete_for_good(
    request: AuthedRequest, mailbox: Mailbox, trash: str, uids: list[int]
) -> HttpResponse:
    """The Trash's "Supprimer": deleted for good, after confirmation, by those who may
    empty the Trash (managers); moving to the Trash again would do nothing."""
    if Action.MANAGE not in mailbox.allowed:
        return failed(request, mailbox, trash, BadRequest("only managers delete for good"))
    if request.POST.get("confirmed") != "1":
        context = {"mailbox": mailbox, "folder": trash, "uids": uids,
                   "next": request.POST.get("next", "")}  # fmt: skip
        return render(request, "mail/delete_for_good.html", context)
    try:
        messages.do_delete_for_good(request.user, mailbox, trash, uids, request)
    except OperatorUnavailable as exc:
        return failed(request, mailbox, trash, exc)
    undo.forget(request)  # what went to the Trash may be gone for good now
    return back(request, mailbox, trash)


@login_required
def empty_trash(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """Delete the Trash's messages for good, after confirmation; managers only."""
    mailbox = access.mailbox_or_404(request.user, Action.MANAGE, mailbox_id, request)
    try:
        trash = messages.trash_of(mailbox)
    except OperatorUnavailable as exc:
        return failed(request, mailbox, "", exc)
    if trash is None:
        return render(request, "mail/action_failed.html", {"mailbox": mailbox}, status=400)
    if request.method != "POST":
        return render(request, "mail/empty_trash.html", {"mailbox": mailbox, "trash": trash})
    try:
        messages.do_empty_trash(request.user, mailbox, trash, request)
    except OperatorUnavailable:
        return render(request, "mail/action_failed.html", {"mailbox": mailbox}, status=503)
    undo.forget(request)
    return redirect(reverse("mail-folder", args=[mailbox.pk]) + "?" + urlencode({"folder": trash}))
