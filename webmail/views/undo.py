"""Undoing a move or a deletion for a few seconds ("Annuler" in a toast, or z).

The last move a person made is kept in their session: where the messages went and their
UIDs there (mailboxes.actions.messages.Moved). The list shows the toast for SHOWN_SECONDS;
the undo is accepted for KEPT_SECONDS (a slow click, a screen reader still reading), once,
and authorised again like any action: a delegation revoked meanwhile cannot undo. Deleting
for good in the Trash cannot be undone: it asks first (webmail.views.actions)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages as notices
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mailboxes import access
from mailboxes.access import Action
from mailboxes.actions import messages
from mailboxes.errors import BadRequest, OperatorUnavailable
from mailboxes.mailcache import cache
from mailboxes.models import Mailbox
from webmail.http import AuthedRequest
from webmail.templatetags.mail import folder_label
from webmail.views.redirects import back

SESSION_KEY = "webmail_undo"
SHOWN_SECONDS = 8
KEPT_SECONDS = 30


def offer(request: HttpRequest, mailbox: Mailbox, moved: messages.Moved) -> None:
    """Keep the move just made so that it can be undone (the last one only, as mail
    clients do); nothing to offer when the destination's UIDs are not known."""
    if not moved.uids or moved.uidvalidity is None:
        forget(request)
        return
    request.session[SESSION_KEY] = {
        "token": secrets.token_urlsafe(16),
        "mailbox": mailbox.pk,
        "action": moved.action,
        "source": moved.source,
        "destination": moved.destination,
        "uidvalidity": moved.uidvalidity,
        "uids": moved.uids,
        "count": moved.count,
        "at": timezone.now().timestamp(),
    }


def forget(request: HttpRequest) -> None:
    """No undo any more (the Trash deleted for good, or emptied)."""
    request.session.pop(SESSION_KEY, None)


def pending(request: HttpRequest, mailbox: Mailbox) -> dict[str, Any] | None:
    """The toast for the list of `mailbox`: the last move, while it is recent enough."""
    kept = request.session.get(SESSION_KEY)
    if not kept or kept.get("mailbox") != mailbox.pk:
        return None
    left = SHOWN_SECONDS - (timezone.now().timestamp() - kept["at"])
    if left <= 0:
        return None
    return {"token": kept["token"], "text": said(mailbox, kept), "seconds": max(round(left), 3)}


def said(mailbox: Mailbox, kept: dict[str, Any]) -> str:
    count = kept["count"]
    if kept["action"] == "delete":
        return ngettext(
            "Message moved to the Trash.", "%(count)s messages moved to the Trash.", count
        ) % {"count": count}
    if kept["action"] == "archive":
        return ngettext("Message archived.", "%(count)s messages archived.", count) % {
            "count": count
        }
    return ngettext(
        "Message moved to “%(folder)s”.", "%(count)s messages moved to “%(folder)s”.", count
    ) % {"count": count, "folder": label_of(mailbox, kept["destination"])}


def label_of(mailbox: Mailbox, name: str) -> str:
    found = next((f for f in cache.folders(mailbox) if f.name == name), None)
    return folder_label(found) if found is not None else name


@login_required
def undo_move(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """ "Annuler": the last move put back, if it is this one (its token), recent and the
    person may still move messages of the mailbox."""
    mailbox = access.mailbox_or_404(request.user, Action.MOVE, mailbox_id, request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    kept = request.session.get(SESSION_KEY)
    if not kept or kept.get("mailbox") != mailbox.pk or kept["token"] != request.POST.get("token"):
        notices.info(request, _("There is nothing to undo."))
        return back(request, mailbox, "INBOX")
    del request.session[SESSION_KEY]  # once
    if timezone.now().timestamp() - kept["at"] > KEPT_SECONDS:
        notices.info(request, _("Too late to undo: the move was made a while ago."))
        return back(request, mailbox, kept["source"])
    moved = messages.Moved(
        kept["action"], kept["source"], kept["destination"], kept["uidvalidity"],
        kept["uids"], kept["count"],
    )  # fmt: skip
    try:
        back_count = messages.do_undo_move(request.user, mailbox, moved, request)
    except (OperatorUnavailable, BadRequest):
        notices.error(request, _("The move could not be undone: the mail server refused or "
                                 "cannot be reached. The messages are still in “%(folder)s”.")
                      % {"folder": label_of(mailbox, moved.destination)})  # fmt: skip
        return back(request, mailbox, moved.source)
    notices.success(request, undone(mailbox, moved, back_count))
    return back(request, mailbox, moved.source)


def undone(mailbox: Mailbox, moved: messages.Moved, count: int) -> str:
    if not count:
        return _("Nothing was put back: the messages have left “%(folder)s” meanwhile.") % {
            "folder": label_of(mailbox, moved.destination)
        }
    return ngettext(
        "Undone: the message is back in “%(folder)s”.",
        "Undone: %(count)s messages are back in “%(folder)s”.",
        count,
    ) % {"count": count, "folder": label_of(mailbox, moved.source)}
