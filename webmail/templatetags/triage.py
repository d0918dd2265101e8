"""The triage parts of the mail pages: the sidebar's views and counts, the list's buttons."""

from __future__ import annotations

from typing import Any

from django import template

from mailboxes.models import Mailbox, MessageIndex
from triage import queries
from triage.models import Conversation

register = template.Library()


def shared(mailbox: Mailbox) -> bool:
    """triage.queries.is_shared, asked once per page: its sidebar, buttons and rows all ask,
    of the same request's mailbox object."""
    known: bool | None = getattr(mailbox, "_triage_shared", None)
    if known is None:
        known = queries.is_shared(mailbox)
        mailbox._triage_shared = known  # type: ignore[attr-defined]
    return known


@register.inclusion_tag("triage/sidebar.html", takes_context=True)
def triage_sidebar(context: template.Context) -> dict[str, Any]:
    """ "Assigné à moi" (every mailbox) and, on a shared mailbox, "Non assigné", counted."""
    request = context["request"]
    mailbox: Mailbox | None = context.get("mailbox")
    is_shared = mailbox is not None and shared(mailbox)
    listed = context.get("readable_mailboxes")  # access.mailboxes_for, read for the switcher
    readable = [m.pk for m in listed] if listed is not None else None
    return {
        "counts": queries.counts(request.user, mailbox if is_shared else None, readable),
        "mailbox": mailbox,
        "shared": is_shared,
    }


@register.inclusion_tag("triage/bulk_buttons.html", takes_context=True)
def triage_bulk(context: template.Context) -> dict[str, Any]:
    mailbox: Mailbox = context["mailbox"]
    return {"mailbox": mailbox, "shared": shared(mailbox)}


@register.simple_tag
def triage_states(mailbox: Mailbox, rows: list[MessageIndex]) -> dict[str, Conversation]:
    """The triage rows of a mail list page's conversations, by thread, in one query (none
    for a mailbox nobody shares). The rendered rows are cached per mailbox version, which
    every triage change bumps."""
    if not rows or not shared(mailbox):
        return {}
    keys = {row.thread_key for row in rows}
    found = Conversation.objects.filter(mailbox=mailbox, thread_key__in=keys)
    return {c.thread_key: c for c in found.select_related("assignee")}


@register.filter
def triage_of(states: dict[str, Conversation], thread_key: str) -> Conversation | None:
    return states.get(thread_key)
