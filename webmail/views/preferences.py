"""A person's own display choices, kept on their account (not a mailbox's: no access
policy applies beyond being logged in)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from mailboxes.models import User
from webmail.http import AuthedRequest


@login_required
def reading_pane(request: AuthedRequest) -> HttpResponse:
    """Where the lists open a message (no pane, right, below): remembered for the person,
    whichever browser they use next; back to the list they chose it from."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    chosen = request.POST.get("reading_pane", "")
    if chosen not in User.ReadingPane.values:
        return HttpResponseBadRequest()
    if request.user.reading_pane != chosen:
        request.user.reading_pane = chosen
        request.user.save(update_fields=["reading_pane"])
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("mail-home")
