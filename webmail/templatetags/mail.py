"""Template filters of the mail pages."""

from __future__ import annotations

import re
from datetime import datetime

from django import template
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from documents import subject as health_subject
from mailboxes.mail.refusals import TOO_LARGE, Refusal
from mailboxes.mailcache.cache import FolderName
from mailboxes.models import Folder

register = template.Library()


@register.filter
def display_subject(subject: str) -> str:
    """The subject as people should read it: without the IHE XDM prefix that MSSanté
    software puts in front, after Re:/Tr:/bracket tags too (XDM-R12, documents.subject)."""
    return health_subject.display(subject)


@register.filter
def grouped(value: int) -> str:
    """A count with its thousands grouped as the language writes them ("100 020" in
    French): never for ids and UIDs, which go into URLs."""
    return formats.number_format(value, use_l10n=True, force_grouping=True)


SHORT_FORMATS = {"fr": "%d/%m/%Y %H:%M", "en": "%m/%d/%Y %I:%M %p"}


@register.filter
def short_datetime(value: datetime | None) -> str:
    """A list's date in the reader's time zone and language; strftime, ten times cheaper
    than the `date` filter on a 50-row page (benchmarks/)."""
    if value is None:
        return ""
    pattern = SHORT_FORMATS.get((get_language() or "fr")[:2], SHORT_FORMATS["fr"])
    return timezone.localtime(value).strftime(pattern)


def _explanations() -> dict[str, str]:
    """RFC 3463 enhanced status codes, as a person sending health mail needs to read them."""
    return {
        "5.1.1": _("This address does not exist at its operator."),
        "5.1.2": _("The domain of this address cannot be found."),
        "5.1.10": _("This address does not exist at its operator."),
        "5.2.1": _("This mailbox is closed to new mail."),
        "5.2.2": _("The recipient's mailbox is full."),
        "5.2.3": _("The message is too large for the recipient's operator."),
        "5.3.4": _("The message is too large for the recipient's operator."),
        "5.4.4": _("The domain of this address cannot be found."),
        "5.7.1": _(
            "This address is outside the MSSanté trust space: the message cannot be sent to it."
        ),
    }


@register.filter
def explained(refusal: Refusal) -> str:
    """A refusal in French words; the server's own text stays a detail (outbox)."""
    if refusal.text.startswith(TOO_LARGE):
        return _("The message is too large for the operator.")
    if refusal.enhanced in (found := _explanations()):
        return found[refusal.enhanced]
    if refusal.code.startswith("5"):
        return _("Refused for good by the mail server.")
    if refusal.code.startswith("4"):
        return _("Refused for now by the mail server (a temporary refusal).")
    return _("The operator's mail server could not be reached.")


PERSON = re.compile(r"\s*([^<>,]+?)\s*<([^<>]+)>\s*|\s*([^<>,\s]+@[^<>,\s]+)\s*")


@register.filter
def names_only(people: str) -> str:
    """ "Anne Roy <a@x.fr>, b@y.fr" (the cache's recipients) as a list shows them: names,
    else addresses."""
    found = [m.group(1) or m.group(3) for m in PERSON.finditer(people or "")]
    return ", ".join(name for name in found if name)


@register.filter
def folder_label(folder: Folder | FolderName) -> str:
    """A folder's name as people read it, in the pages' lists and in sentences built in
    Python ("Message moved to “Archives”"): Python, not an included template, since the
    sidebar and the reader's "Move to" list draw it once per folder."""
    if folder.name == "INBOX":
        return _("Inbox")
    labels = {
        "\\Sent": _("Sent"),
        "\\Drafts": _("Drafts"),
        "\\Trash": _("Trash"),
        "\\Archive": _("Archive"),
        "\\Junk": _("Junk"),
    }
    return labels.get(folder.special_use, folder.name)
