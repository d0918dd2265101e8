"""Where a form posted from a list goes back to."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from mailboxes.models import Mailbox


def back(request: HttpRequest, mailbox: Mailbox, folder: str) -> HttpResponse:
    """To the page the form came from (`next`, on this site only), else the folder's list."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse("mail-folder", args=[mailbox.pk]) + "?" + urlencode({"folder": folder}))
