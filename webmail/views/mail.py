"""Mail pages: parse, authorise through mailboxes.access, read through the operator, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from mailboxes import access, audit
from mailboxes.access import Action
from mailboxes.models import AuditEvent, Mailbox
from mailboxes.operator import OperatorUnavailable, imap

PER_PAGE = 50
SORT_CHOICES = (
    ("date", _("Date")),
    ("from", _("Sender")),
    ("subject", _("Subject")),
    ("size", _("Size")),
)


def folder_of(request: HttpRequest) -> str:
    try:
        return imap.check_folder(request.GET.get("folder", "INBOX"))
    except ValueError:
        raise Http404 from None


def page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def listing_of(request: HttpRequest) -> imap.Listing:
    sort = request.GET.get("sort", "date")
    return imap.Listing(
        sort=sort if sort in imap.SORT_KEYS else "date",
        descending=request.GET.get("order", "desc") != "asc",
        unread_only=request.GET.get("unread") == "1",
    )


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
    folder_name, page, listing = folder_of(request), page_number(request), listing_of(request)
    context = {
        "mailbox": mailbox,
        "mailboxes": access.mailboxes_for(request.user),
        "folder": folder_name,
        "listing_options": listing,
        "can_manage": access.can(request.user, Action.MANAGE, mailbox),
        "can_triage": access.can(request.user, Action.TRIAGE, mailbox),
        "can_send": access.can(request.user, Action.SEND, mailbox),
        "sort_choices": SORT_CHOICES,
    }
    try:
        folders = imap.list_folders(mailbox)
        result = imap.list_folder(mailbox, folder_name, page, PER_PAGE, listing)
    except OperatorUnavailable as exc:
        audit_operator_login(request, mailbox, exc)
        return render(request, "mail/folder.html", {**context, "unavailable": True}, status=503)
    audit_operator_login(request, mailbox)
    special = {f.name: f.special_use for f in folders}
    context |= {
        "folders": folders,
        "listing": result,
        "page": Paginator(range(result.total), PER_PAGE).get_page(page),
        "in_trash": special.get(folder_name) == "\\Trash",
        "in_drafts": special.get(folder_name) == "\\Drafts",
        "targets": [f for f in folders if f.name != folder_name],
    }
    return render(request, "mail/folder.html", context)
