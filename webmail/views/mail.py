"""Mail pages: parse, authorise through mailboxes.access, read through the operator, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from mailboxes import access, audit, mime
from mailboxes.access import Action
from mailboxes.models import AuditEvent, Mailbox
from mailboxes.operator import OperatorUnavailable, imap

PER_PAGE = 50


def _folder(request: HttpRequest) -> str:
    try:
        return imap.check_folder(request.GET.get("folder", "INBOX"))
    except ValueError:
        raise Http404 from None


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def audit_operator_login(
    request: HttpRequest, mailbox: Mailbox, error: OperatorUnavailable | None = None
) -> None:
    """Logins to the operator (CONF.17): every failure, and the first success per session."""
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


@login_required
def home(request: HttpRequest) -> HttpResponse:
    first = access.mailboxes_for(request.user).first()
    if first is None:
        return render(request, "mail/no_mailbox.html")
    return redirect("mail-folder", mailbox_id=first.pk)


@login_required
def folder(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    folder_name, page = _folder(request), _page_number(request)
    context = {
        "mailbox": mailbox,
        "mailboxes": access.mailboxes_for(request.user),
        "folder": folder_name,
        "can_manage": access.can(request.user, Action.MANAGE, mailbox),
    }
    try:
        listing = imap.list_folder(mailbox, folder_name, page, PER_PAGE)
    except OperatorUnavailable as exc:
        audit_operator_login(request, mailbox, exc)
        return render(request, "mail/folder.html", {**context, "unavailable": True}, status=503)
    audit_operator_login(request, mailbox)
    paginator = Paginator(range(listing.total), PER_PAGE)
    context |= {
        "listing": listing,
        "page": paginator.get_page(page),
    }
    return render(request, "mail/folder.html", context)


@login_required
def message(request: HttpRequest, mailbox_id: int, uid: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    folder_name = _folder(request)
    target = f"{folder_name}/{uid}"
    try:
        raw = imap.fetch_message(mailbox, folder_name, uid)
    except OperatorUnavailable as exc:
        audit.record(
            request.user,
            "message.read",
            mailbox=mailbox,
            target=target,
            outcome=AuditEvent.Outcome.ERROR,
            response=str(exc),
            request=request,
        )
        context = {"mailbox": mailbox, "folder": folder_name, "unavailable": True}
        return render(request, "mail/message.html", context, status=503)
    if raw is None:
        raise Http404
    parsed = mime.parse(raw)
    audit.record(
        request.user,
        "message.read",
        mailbox=mailbox,
        target=f"{target} {parsed.message_id}",
        request=request,
    )
    context = {"mailbox": mailbox, "folder": folder_name, "message": parsed, "uid": uid}
    return render(request, "mail/message.html", context)
