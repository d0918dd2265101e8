"""The triage parts of the mail pages: the sidebar's views and counts, the list's buttons."""

from __future__ import annotations

from typing import Any

from django import template

from mailboxes.models import Mailbox
from triage import queries

register = template.Library()


@register.inclusion_tag("triage/sidebar.html", takes_context=True)
def triage_sidebar(context: template.Context) -> dict[str, Any]:
    """ "Assigné à moi" (every mailbox) and, on a shared mailbox, "Non assigné", counted."""
    request = context["request"]
    mailbox: Mailbox | None = context.get("mailbox")
    shared = mailbox is not None and queries.is_shared(mailbox)
    return {
        "counts": queries.counts(request.user, mailbox if shared else None),
        "mailbox": mailbox,
        "shared": shared,
    }


@register.inclusion_tag("triage/bulk_buttons.html", takes_context=True)
def triage_bulk(context: template.Context) -> dict[str, Any]:
    mailbox: Mailbox = context["mailbox"]
    return {"mailbox": mailbox, "shared": queries.is_shared(mailbox)}
