"""The trust list and the directory, as the composer and the directory page use them."""

from __future__ import annotations

import time
from dataclasses import asdict

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from directory import fhir, search, trustlist
from mailboxes import access
from mailboxes.access import Action
from mailboxes.mail.headers import lenient_recipients
from webmail.http import AuthedRequest

MAX_MARKED = 50


@login_required
def recipient_marks(request: AuthedRequest) -> HttpResponse:
    """✓ or ⚠ for each recipient typed in To/Cc/Bcc (TL6), asked by the composer as the
    person types. POST: addresses stay out of URLs and access logs."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    typed = [
        a for name in ("to", "cc", "bcc") for a in lenient_recipients(request.POST.get(name, ""))
    ]
    marks = [(address, trustlist.decide(address)) for address in dict.fromkeys(typed)]
    return render(request, "directory/recipient_marks.html", {"marks": marks[:MAX_MARKED]})


KIND_LABELS = {
    "PER": gettext_lazy("personal mailbox"),
    "ORG": gettext_lazy("organisational mailbox"),
    "APP": gettext_lazy("application mailbox"),
    "CAB": gettext_lazy("practice mailbox"),
}


def throttled(request: AuthedRequest) -> bool:
    """More than DIRECTORY_SUGGEST_PER_MINUTE asks this minute (DIR5: no bulk harvesting)."""
    key = f"directory:suggest:{request.user.pk}:{int(time.time() // 60)}"
    cache.add(key, 0, 90)
    return cache.incr(key) > settings.DIRECTORY_SUGGEST_PER_MINUTE


@login_required
def suggest(request: AuthedRequest) -> HttpResponse:
    """Recipients matching what is typed (DIR5), as JSON for the composer's combobox. POST:
    the words (a name, often) stay out of URLs and access logs; never logged here."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if throttled(request):
        return JsonResponse({"results": []}, status=429)
    found = search.suggest(request.user, request.POST.get("q", "")[:100])
    results = [{**asdict(s), "kind_label": str(KIND_LABELS.get(s.kind, ""))} for s in found]
    return JsonResponse({"results": results})


@login_required
def directory_page(request: AuthedRequest) -> HttpResponse:
    """Search a professional or a structure, see their MSSanté addresses, write to one. The
    words go by POST (out of URLs and logs), throttled like the suggestions."""
    query = request.POST.get("q", "")[:100] if request.method == "POST" else ""
    too_many = bool(query) and throttled(request)
    results = [] if too_many or not query else search.lookup(query)
    sender = next(
        (m for m in access.mailboxes_for(request.user) if access.can(request.user, Action.SEND, m)),
        None,
    )
    context = {
        "query": query,
        "results": results,
        "searched": bool(query) and not too_many,
        "too_many": too_many,
        "sender": sender,
        "kinds": KIND_LABELS,
    }
    return render(request, "directory/page.html", context, status=429 if too_many else 200)


@login_required
def confirm(request: AuthedRequest) -> HttpResponse:
    """DIR6: the address just chosen, confirmed live with the Annuaire Santé (when set up)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if throttled(request):
        return JsonResponse({"confirmed": False}, status=429)
    live = fhir.do_confirm(request.POST.get("address", "")[:254])
    if live is None:
        return JsonResponse({"confirmed": False})
    return JsonResponse({"confirmed": True, "kind": live.kind, "red_list": live.red_list})
