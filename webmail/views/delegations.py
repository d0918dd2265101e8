"""Managers' pages: delegations per mailbox, and the mailbox's audit trail."""

from __future__ import annotations

import csv
from typing import ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mailboxes import access, audit
from mailboxes.access import Action
from mailboxes.actions.delegations import (
    do_change_delegation,
    do_grant_delegation,
    do_revoke_delegation,
    known_people,
    person_for_email,
)
from mailboxes.models import AuditEvent, Delegation, Mailbox, Notification
from webmail import audit_labels
from webmail.auth import local
from webmail.forms import AUDIT_COLUMNS, AuditFilterForm, DelegationForm, GrantForm
from webmail.http import AuthedRequest


def open_delegation(mailbox: Mailbox, delegation_id: int) -> Delegation:
    delegation = (
        Delegation.objects.filter(pk=delegation_id, mailbox=mailbox, revoked_at__isnull=True)
        .select_related("person", "mailbox")
        .first()
    )
    if delegation is None:
        raise Http404
    return delegation


@login_required
def manage_home(request: AuthedRequest) -> HttpResponse:
    mailboxes = access.managed_mailboxes(request.user)
    return render(request, "manage/home.html", {"managed": mailboxes})


@login_required
def delegations(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.MANAGE, mailbox_id, request)
    form = GrantForm(request.POST or None, people=known_people(mailbox), manager=request.user)
    if request.method == "POST" and form.is_valid():
        person, new = (
            (form.cleaned_data["person"], False)
            if form.cleaned_data["person"]
            else person_for_email(form.cleaned_data["email"])
        )
        if not access.may_delegate(request.user, mailbox, person, request):
            return refused_own(request, mailbox)
        do_grant_delegation(
            request.user, mailbox, person, form.cleaned_data["role"], form.expires_at, request
        )
        if new or not local.is_set_up(person):
            invited = local.do_invite(
                request.user, person.email, request, mailbox.structure, mailbox=mailbox
            )
            if invited.invitation is not None and not invited.delivered:
                messages.error(request, _("The invitation e-mail could not be sent."))
            # Demo only, and only for an account that has never been set up.
            if invited.link and settings.WEBMAIL_SHOW_INVITATION_LINKS:
                messages.info(
                    request, _("Invitation link (demo only): %(link)s") % {"link": invited.link}
                )
        return redirect("admin-delegations", mailbox_id=mailbox.pk)
    current = (
        Delegation.objects.filter(mailbox=mailbox, revoked_at__isnull=True)
        .select_related("person", "granted_by")
        .order_by("person__last_name", "person__username")
    )
    context = {
        "mailbox": mailbox,
        "delegations": current,
        "form": form,
        "now": timezone.now(),
        "roles": Delegation.Role.choices,
    }
    return render(request, "manage/delegations.html", context)


def refused_own(request: HttpRequest, mailbox: Mailbox) -> HttpResponse:
    messages.error(request, _("You cannot change your own delegation."))
    return redirect("admin-delegations", mailbox_id=mailbox.pk)


@login_required
def delegation_change(request: AuthedRequest, mailbox_id: int, delegation_id: int) -> HttpResponse:
    # Access first, method second: a refusal must look like absence (404), never 405.
    mailbox = access.mailbox_or_404(request.user, Action.MANAGE, mailbox_id, request)
    delegation = open_delegation(mailbox, delegation_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not access.may_delegate(request.user, mailbox, delegation.person, request):
        return refused_own(request, mailbox)
    form = DelegationForm(request.POST)
    if form.is_valid():
        do_change_delegation(
            request.user, delegation, form.cleaned_data["role"], form.expires_at, request
        )
    return redirect("admin-delegations", mailbox_id=mailbox.pk)


@login_required
def delegation_revoke(request: AuthedRequest, mailbox_id: int, delegation_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.MANAGE, mailbox_id, request)
    delegation = open_delegation(mailbox, delegation_id)
    if request.method == "POST":
        do_revoke_delegation(request.user, delegation, request)
        return redirect("admin-delegations", mailbox_id=mailbox.pk)
    return render(request, "manage/revoke.html", {"mailbox": mailbox, "delegation": delegation})


@login_required
def audit_trail(request: AuthedRequest, mailbox_id: int) -> HttpResponse | StreamingHttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.MANAGE, mailbox_id, request)
    events = AuditEvent.objects.for_mailbox(mailbox)
    actions = sorted(set(events.values_list("action", flat=True)))
    form = AuditFilterForm(request.GET or None, actions=actions)
    events = form.filter(events).order_by("-created")
    if request.GET.get("export") == "csv":
        export = audit.record(request.user, "audit.export", mailbox=mailbox, request=request)
        return csv_response(events.exclude(pk=export.pk), mailbox)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "manage/audit.html", {"mailbox": mailbox, "form": form, "page": page})


class Echo:
    def write(self, value: str) -> str:
        return value


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A value as a spreadsheet will show it, never run it: folder names and outside
    senders' Message-IDs reach the trail, and whoever can read the mailbox chooses them."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


# French spreadsheets (Excel, LibreOffice in fr_FR) split on ";" (the decimal separator is
# ","), and read a file without a byte-order mark as their legacy charset.
CSV_DELIMITER = ";"
CSV_BOM = "\ufeff"
CSV_HEADERS = (
    gettext_lazy("Date"), gettext_lazy("Person"), gettext_lazy("National identifier"),
    gettext_lazy("Mailbox"), gettext_lazy("Action code"), gettext_lazy("Target"),
    gettext_lazy("Outcome"), gettext_lazy("Server response"), gettext_lazy("IP"),
    gettext_lazy("Action"),
)  # fmt: skip


def csv_row(event: AuditEvent) -> list[str]:
    """One event as the export shows it: local time to the second, the codes kept (stable,
    filterable), the action and role in words, every cell safe from formulas."""
    values: dict[str, object] = {c: getattr(event, c) for c in AUDIT_COLUMNS}
    values["created"] = timezone.localtime(event.created).strftime("%d/%m/%Y %H:%M:%S")
    values["target"] = audit_labels.target_label(event)
    values["outcome"] = event.get_outcome_display()
    return [cell(values[c]) for c in AUDIT_COLUMNS] + [
        cell(audit_labels.action_label(event.action))
    ]


def csv_response(events: object, mailbox: Mailbox) -> StreamingHttpResponse:
    writer = csv.writer(Echo(), delimiter=CSV_DELIMITER)
    rows = (writer.writerow(csv_row(e)) for e in events.iterator())  # type: ignore[attr-defined]
    header = CSV_BOM + writer.writerow([str(h) for h in CSV_HEADERS])
    response = StreamingHttpResponse(
        (line for chunk in ([header], rows) for line in chunk),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{mailbox.pk}.csv"'
    return response


@login_required
def notifications(request: AuthedRequest) -> HttpResponse:
    mine = Notification.objects.filter(person=request.user)[:50]
    page = render(request, "manage/notifications.html", {"notifications": list(mine)})
    Notification.objects.filter(person=request.user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    access.forget_navigation(request.user.pk or 0)  # the badge goes
    return page


class SignatureForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Mailbox
        fields = ("signature",)
        widgets: ClassVar = {"signature": forms.Textarea(attrs={"rows": 5})}


@login_required
def mailbox_settings(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """The mailbox's signature, added to what is written from it; its managers set it."""
    mailbox = access.mailbox_or_404(request.user, Action.MANAGE, mailbox_id, request)
    form = SignatureForm(request.POST or None, instance=mailbox)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit.record(
            request.user, "mailbox.settings", mailbox=mailbox, target="signature", request=request
        )
        messages.info(request, _("Saved."))
        return redirect("admin-mailbox-settings", mailbox_id=mailbox.pk)
    return render(request, "manage/settings.html", {"mailbox": mailbox, "form": form})
