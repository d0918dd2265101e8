"""Search and conversations, from the cache, within what the person may read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from mailboxes import access, audit
from mailboxes.access import Action
from mailboxes.mailcache import cache
from mailboxes.models import Folder
from webmail.forms import SearchForm
from webmail.http import AuthedRequest
from webmail.views import triage

PER_PAGE = 50


@login_required
def search(request: AuthedRequest) -> HttpResponse:
    """Full text over subjects, people and body text, across every mailbox the person may
    read (or one of them), with filters. The words are never logged nor audited, and never
    in a URL."""
    mailboxes = access.mailboxes_for(request.user)
    # POST: the words (a patient's name, often) stay out of URLs, access logs and history.
    form = SearchForm(request.POST if request.method == "POST" else None, mailboxes=mailboxes)
    context = {"form": form, "mailboxes": mailboxes, "results": None}
    if not form.is_bound or not form.is_valid():
        return render(request, "mail/search.html", context, status=400 if form.is_bound else 200)
    criteria = form.criteria()
    scope = access.searchable_messages(request.user)
    chosen = form.cleaned_data.get("mailbox")
    if chosen is not None:
        scope = scope.filter(folder__mailbox=chosen)
    offset = (form.cleaned_data.get("page") or 1) * PER_PAGE - PER_PAGE
    searched = mailboxes.filter(pk=chosen.pk) if chosen is not None else mailboxes
    folder_ids = list(
        Folder.objects.filter(mailbox__in=searched.values("pk")).values_list("pk", flat=True)
    )
    found = cache.search_page(scope, criteria, folder_ids, offset, PER_PAGE + 1)
    for mailbox in [chosen] if chosen else mailboxes:
        audit.record(request.user, "message.search", mailbox=mailbox, request=request)
    context |= {
        "criteria": criteria,
        "results": found[:PER_PAGE],
        "page": offset // PER_PAGE + 1,
        "has_next": len(found) > PER_PAGE,
        "mailbox": chosen,
        # Issue 16: a first sync fills newest first; until it ends, say what is missing.
        "unfinished": cache.unfinished(searched),
    }
    return render(request, "mail/search.html", context)


@login_required
def conversation(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """Every message of one conversation in this mailbox, whatever its folder."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    key = request.GET.get("thread", "")
    # Not `messages`: that name is Django's messages framework in every template (base.html
    # shows them as banners), and a list of rows there came out as "18:4" banners.
    thread = list(cache.conversation(mailbox, key)) if key else []
    if not thread:
        raise Http404
    audit.record(
        request.user,
        "conversation.read",
        mailbox=mailbox,
        target=thread[0].message_id,
        request=request,
    )
    context = {
        "mailbox": mailbox,
        "thread": thread,
        "mailboxes": access.mailboxes_for(request.user),
        "triage": triage.panel(request, mailbox, key),
    }
    return render(request, "mail/conversation.html", context)
