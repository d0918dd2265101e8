"""The rows of a message list, rendered in Python.

A 50-row page drawn by the template engine cost 6 to 8 ms here (some 1,800 variable look-ups,
each through the engine's resolution rules): more than half the whole list page whenever its
rendered rows are not cached, which is after every change in the mailbox (issue 16: list page
1 uncached ≤ 15 ms). This draws the same markup from the same data, every value escaped by
html.escape (what django.utils.html.escape and so the template engine's autoescape do,
without their laziness check on every call), labels translated once a page.
The rare parts (a conversation's triage state) still come from their own template.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import quote

from django.template.defaultfilters import filesizeformat
from django.template.loader import get_template
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from documents import ins
from documents import subject as health_subject
from mailboxes.models import MessageIndex
from triage.models import Conversation
from webmail.templatetags.mail import SHORT_FORMATS, names_only

CLIP = (
    '<span class="clip" title="{label}"><svg role="img" aria-label="{label}" width="14" '
    'height="14" viewBox="0 0 16 16"><path d="M10.5 3.5 4.8 9.2a1.8 1.8 0 0 0 2.5 2.5l6-6a3 3 0 '
    '0 0-4.2-4.2l-6.2 6.2a4.2 4.2 0 0 0 6 6l5-5" fill="none" stroke="currentColor" '
    'stroke-width="1.4" stroke-linecap="round"/></svg></span>'
)


@dataclass(frozen=True)
class Shape:
    """What every row of the page shares: where it links, what the person may do."""

    folder: str
    message_prefix: str
    compose_url: str
    can_triage: bool
    can_send: bool
    in_drafts: bool
    shows_recipients: bool
    selected: Collection[int]
    # The list's own query (folder, order, filter), carried by its links so that the reader's
    # previous/next walk the list as shown (webmail.views.mail.list_query); else the folder.
    list_query: str = ""


def sizes() -> Callable[[int], str]:
    """filesizeformat's words for this page's language, worked out once: a size from 1 KB to
    1 GB (nearly every message) formatted here as filesizeformat does (one decimal, the
    language's separator, no grouping), the rest by filesizeformat itself. Twenty
    microseconds a row otherwise (its translations and number formatting, per call)."""
    separator = formats.get_format("DECIMAL_SEPARATOR")
    kilo, mega = _("%s KB"), _("%s MB")

    def size(value: int) -> str:
        if not isinstance(value, int) or not 1024 <= value < 1024**3:
            return str(filesizeformat(value))
        unit, scale = (kilo, 1024) if value < 1024**2 else (mega, 1024**2)
        whole, _dot, decimals = f"{round(value / scale, 1):f}".partition(".")
        return unit % f"{whole}{separator}{decimals[:1]}"

    return size


def dates() -> Callable[[datetime | None], str]:
    """short_datetime for this page: its time zone and pattern looked up once."""
    zone = timezone.get_current_timezone()
    pattern = SHORT_FORMATS.get((get_language() or "fr")[:2], SHORT_FORMATS["fr"])
    return lambda value: value.astimezone(zone).strftime(pattern) if value else ""


def render(
    rows: Iterable[MessageIndex],
    shape: Shape,
    health_lines: dict[int, str] | None = None,
    triage: dict[str, Conversation] | None = None,
) -> SafeString:
    # Translations are ours and trusted, as {% translate %} treats them (not escaped).
    labels = {
        "select": _("Select"),
        "flagged": _("Flagged"),
        "xdm_title": _("Health documents (IHE XDM)"),
        "xdm": _("Documents"),
        "clip": CLIP.format(label=_("Attachments")),
        "no_subject": _("(no subject)"),
        "patient": _("Patient"),
        "patient_title": _("Message from a patient (Mon espace santé)"),
        "closed": _("the patient cannot reply"),
    }
    folder_query = escape(quote(shape.folder, safe="/"))
    query = escape(shape.list_query) if shape.list_query else f"folder={folder_query}"
    state_template = get_template("triage/row_state.html") if triage else None
    size, short_datetime = sizes(), dates()
    out: list[str] = []
    for row in rows:
        subject = escape(health_subject.display(row.subject) or labels["no_subject"])
        classes = ("" if row.seen else "unread") + (" flagged" if row.flagged else "")
        out.append(f'<tr class="{classes}">\n  ')
        if shape.can_triage:
            checked = " checked" if row.uid in shape.selected else ""
            out.append(
                f'<td><input type="checkbox" id="uid-{row.uid}" name="uid" value="{row.uid}" '
                f'aria-label="{labels["select"]} : {subject}"{checked}></td>'
            )
        out.append('\n  <td class="from">')
        if row.flagged:
            out.append(f'<span class="flag" title="{labels["flagged"]}">★</span> ')
        if shape.shows_recipients:
            out.append(escape(names_only(row.recipients)))
        else:
            out.append(escape(row.sender_name or row.sender_address))
            if ins.patient_address(row.sender_address or ""):
                out.append(
                    f' <span class="tag patient" title="{labels["patient_title"]}">'
                    f"{labels['patient']}</span>"
                )
        if shape.in_drafts and shape.can_send:
            link = f"{escape(shape.compose_url)}?draft={row.uid}"
        else:
            link = f"{escape(shape.message_prefix)}{row.uid}/?{query}"
        out.append(f'</td>\n  <td class="subject"><a href="{link}">{subject}</a>\n    ')
        state = triage.get(row.thread_key) if triage else None
        if (
            state is not None
            and state_template is not None
            and (state.assignee_id or state.status != "new")
        ):
            out.append(state_template.render({"t": state}))
        out.append("\n    ")
        if row.has_xdm:
            out.append(
                f'<span class="tag xdm" title="{labels["xdm_title"]}">{labels["xdm"]}</span>'
            )
            if line := (health_lines or {}).get(row.uid, ""):
                out.append(f' <span class="health-line">{escape(line)}</span>')
        out.append("\n    ")
        if row.reply_closed:
            out.append(f'<span class="tag closed">{labels["closed"]}</span>')
        out.append("\n    ")
        if row.has_attachments:
            out.append(labels["clip"])
        out.append("\n    ")
        if row.preview:
            out.append(f'<span class="preview">{escape(row.preview)}</span>')
        iso = row.date.isoformat() if row.date else ""
        out.append(
            f'</td>\n  <td class="date"><time datetime="{iso}">{escape(short_datetime(row.date))}'
            f'</time></td>\n  <td class="size">{escape(size(row.size))}</td>\n</tr>\n'
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above went through escape()
