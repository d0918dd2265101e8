"""Saved replies of a structure: written by its managers, inserted by its people from the
composer, with placeholders filled in for the reply at hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import formats, timezone

from mailboxes import audit
from mailboxes.errors import BadRequest
from mailboxes.mail import headers
from mailboxes.models import Mailbox, Structure, User
from triage.models import SavedReply

if TYPE_CHECKING:
    from django.http import HttpRequest

# {patient}: the correspondent when they write from Mon espace santé (a patient's address,
# PAT4), else left for the person to fill; {correspondant}: who the reply goes to;
# {expediteur}: the person writing; {date}: today.
PLACEHOLDERS = ("{patient}", "{correspondant}", "{expediteur}", "{date}")
PATIENT_DOMAIN = "@patient.mssante.fr"


@dataclass(frozen=True)
class Filled:
    pk: int
    title: str
    text: str


def of_structure(structure_id: int | None) -> list[SavedReply]:
    if structure_id is None:
        return []
    return list(SavedReply.objects.filter(structure_id=structure_id))


def fill(text: str, *, correspondent: str, address: str, writer: User) -> str:
    """The text with its placeholders replaced."""
    patient = correspondent if address.lower().endswith(PATIENT_DOMAIN) else "[patient]"
    values = {
        "{patient}": patient,
        "{correspondant}": correspondent or address,
        "{expediteur}": writer.get_full_name() or writer.get_username(),
        "{date}": formats.date_format(timezone.localdate(), "DATE_FORMAT"),
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def for_reply(mailbox: Mailbox, writer: User, to: str) -> list[Filled]:
    """The structure's saved replies, filled in for a reply to `to` ("Name <address>")."""
    [(name, address), *_] = headers.addresses([to]) or [("", "")]
    return [
        Filled(r.pk, r.title, fill(r.text, correspondent=name, address=address, writer=writer))
        for r in of_structure(mailbox.structure_id)
    ]


@transaction.atomic
def do_save_reply(
    actor: User,
    mailbox: Mailbox,
    title: str,
    text: str,
    reply: SavedReply | None = None,
    request: HttpRequest | None = None,
) -> SavedReply:
    """Create or change a saved reply of the mailbox's structure. The caller has checked
    Action.MANAGE on the mailbox. Audited by number, never by text."""
    structure: Structure | None = mailbox.structure
    if structure is None or not title.strip() or not text.strip():
        raise BadRequest("a saved reply needs a structure, a title and a text")
    if reply is None:
        reply = SavedReply(structure=structure)
    elif reply.structure_id != structure.pk:
        raise BadRequest("not this structure's")
    reply.title, reply.text = title.strip()[:100], text.strip()[:5000]
    reply.save()
    audit.record(
        actor, "triage.saved_reply", mailbox=mailbox, target=f"#{reply.pk}", request=request
    )
    return reply


@transaction.atomic
def do_delete_reply(
    actor: User, mailbox: Mailbox, reply: SavedReply, request: HttpRequest | None = None
) -> None:
    if reply.structure_id != mailbox.structure_id:
        raise BadRequest("not this structure's")
    target = f"#{reply.pk} deleted"
    reply.delete()
    audit.record(actor, "triage.saved_reply", mailbox=mailbox, target=target, request=request)
