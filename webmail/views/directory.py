"""The trust list and the directory, as the composer and the directory page use them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from directory import trustlist
from webmail.http import AuthedRequest
from webmail.views.compose import lenient

MAX_MARKED = 50


@login_required
def recipient_marks(request: AuthedRequest) -> HttpResponse:
    """✓ or ⚠ for each recipient typed in To/Cc/Bcc (TL6), asked by the composer as the
    person types. POST: addresses stay out of URLs and access logs."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    typed = [a for name in ("to", "cc", "bcc") for a in lenient(request.POST.get(name, ""))]
    marks = [(address, trustlist.decide(address)) for address in dict.fromkeys(typed)]
    return render(request, "directory/recipient_marks.html", {"marks": marks[:MAX_MARKED]})
