"""Actions on messages, by UID, always audited: flags, move, archive, Trash."""

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
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from mailboxes import access, audit
from mailboxes.access import Action
from mailboxes.mailcache import cache
from mailboxes.models import AuditEvent, Mailbox
from mailboxes.operator import OperatorRefused, OperatorUnavailable, imap
from webmail.converters import uid_from
from webmail.http import AuthedRequest
from webmail.views.mail import folder_of

FLAGS = {
    "read": (b"\\Seen", True),
    "unread": (b"\\Seen", False),
    "flag": (b"\\Flagged", True),
    "unflag": (b"\\Flagged", False),
}
CACHED_FLAGS = {b"\\Seen": "seen", b"\\Flagged": "flagged"}
MOVES = {"archive": "\\Archive", "delete": "\\Trash"}
MAX_UIDS = 500


def uids_of(request: HttpRequest) -> list[int] | None:
    """The UIDs posted; None if one of them is not a UID (refused before the operator)."""
    uids = [uid_from(value) for value in request.POST.getlist("uid")[:MAX_UIDS]]
    return None if None in uids else uids  # type: ignore[return-value]


def back(request: HttpRequest, mailbox: Mailbox, folder: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse("mail-folder", args=[mailbox.pk]) + "?" + urlencode({"folder": folder}))


def apply(mailbox: Mailbox, folder: str, action: str, uids: list[int], target: str) -> str:
    """Do the action at the operator; returns what was done, for the audit trail."""
    if action in FLAGS:
        flag, on = FLAGS[action]
        imap.set_flag(mailbox, folder, uids, flag, on)
        cache.after_flags(mailbox, folder, uids, **{CACHED_FLAGS[flag]: on})
        return action
    if action in MOVES:
        target = imap.special_folder(mailbox, MOVES[action]) or ""
    if not target or target == folder:
        raise ValueError("no destination folder")
    imap.move(mailbox, folder, uids, imap.check_folder(target))
    cache.after_removal(mailbox, folder, uids)
    return f"move to {target}"


@login_required
def messages_action(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.TRIAGE, mailbox_id, request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    folder, action, uids = folder_of(request), request.POST.get("action", ""), uids_of(request)
    if uids is None:
        return HttpResponseBadRequest()
    if (action not in FLAGS and action not in MOVES and action != "move") or not uids:
        return back(request, mailbox, folder)
    label = f"message.{action}"
    target = f"{folder}/{','.join(map(str, uids))}"
    try:
        done = apply(mailbox, folder, action, uids, request.POST.get("target", ""))
    except (OperatorUnavailable, ValueError) as exc:
        audit.record(
            request.user,
            label,
            mailbox=mailbox,
            target=target,
            outcome=AuditEvent.Outcome.ERROR,
            response=str(exc),
            request=request,
        )
        return render(
            request,
            "mail/action_failed.html",
            {"mailbox": mailbox, "folder": folder},
            # Unreachable: 503; refused by the server or a bad request of ours: 400.
            status=400 if isinstance(exc, (OperatorRefused, ValueError)) else 503,
        )
    audit.record(
        request.user, label, mailbox=mailbox, target=target, response=done, request=request
    )
    return back(request, mailbox, folder)


@login_required
def empty_trash(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """Delete the Trash's messages for good, after confirmation; managers only."""
    mailbox = access.mailbox_or_404(request.user, Action.MANAGE, mailbox_id, request)
    try:
        trash = imap.special_folder(mailbox, "\\Trash")
    except OperatorUnavailable:
        return render(request, "mail/action_failed.html", {"mailbox": mailbox}, status=503)
    if trash is None:
        return render(request, "mail/action_failed.html", {"mailbox": mailbox}, status=400)
    if request.method != "POST":
        return render(request, "mail/empty_trash.html", {"mailbox": mailbox, "trash": trash})
    try:
        count = imap.expunge_all(mailbox, trash)
        cache.after_emptied(mailbox, trash)
    except OperatorUnavailable as exc:
        audit.record(
            request.user,
            "trash.empty",
            mailbox=mailbox,
            target=trash,
            outcome=AuditEvent.Outcome.ERROR,
            response=str(exc),
            request=request,
        )
        return render(request, "mail/action_failed.html", {"mailbox": mailbox}, status=503)
    audit.record(
        request.user,
        "trash.empty",
        mailbox=mailbox,
        target=trash,
        response=f"{count} deleted",
        request=request,
    )
    return redirect(reverse("mail-folder", args=[mailbox.pk]) + "?" + urlencode({"folder": trash}))
