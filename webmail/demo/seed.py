"""Demo and test data: structures, professionals, mailboxes, and mail at the operator."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from mailboxes.actions.delegations import do_grant_delegation
from mailboxes.models import Delegation, Mailbox, Structure, User
from mailboxes.operator.imap import imap_session
from triage.models import SavedReply
from webmail.auth import local
from webmail.demo import messages

IDENTITIES = Path(__file__).with_name("identities.json")


def identities() -> dict[str, Any]:
    return json.loads(IDENTITIES.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@transaction.atomic
def seed_directory() -> dict[str, Mailbox]:
    """Create or update the demo structures, people and mailboxes; returns them by address."""
    data = identities()
    structures = {
        s["key"]: Structure.objects.update_or_create(
            siret=s["siret"], defaults={"name": s["name"], "kind": s["kind"], "finess": s["finess"]}
        )[0]
        for s in data["structures"]
    }
    mailboxes = {}
    for person in data["professionals"]:
        user, created = User.objects.update_or_create(
            subject_name_id=person["SubjectNameID"],
            defaults={
                "username": f"psc-{person['SubjectNameID']}",
                "first_name": person["given_name"],
                "last_name": person["family_name"],
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        for key in person.get("manages", []):
            structures[key].managers.add(user)
        mailboxes[person["mailbox"]] = Mailbox.objects.update_or_create(
            address=person["mailbox"],
            defaults={
                "kind": Mailbox.Kind.PERSONAL,
                "owner": user,
                "label": f"{person['given_name']} {person['family_name']}",
                "structure": None,
            },
        )[0]
    for org in data["organisational_mailboxes"]:
        mailboxes[org["address"]] = Mailbox.objects.update_or_create(
            address=org["address"],
            defaults={
                "kind": Mailbox.Kind.ORGANISATIONAL,
                "label": org["label"],
                "structure": structures[org["structure"]],
                "owner": None,
            },
        )[0]
    seed_saved_replies(structures["pharmacie-marche"])
    return mailboxes


SAVED_REPLIES = {
    "Ordonnance prête": (
        "Bonjour {correspondant},\n\nL'ordonnance de {patient} est prête à la pharmacie "
        "depuis le {date}.\n\nBien cordialement,\n{expediteur}"
    ),
    "Produit commandé": (
        "Bonjour {correspondant},\n\nLe produit est commandé : il sera disponible sous "
        "48 heures.\n\n{expediteur}"
    ),
}


def seed_saved_replies(structure: Structure) -> None:
    """The pharmacy's saved replies (triage), for the demo's secretaries."""
    for title, text in SAVED_REPLIES.items():
        SavedReply.objects.get_or_create(structure=structure, title=title, defaults={"text": text})


PHARMACY = "pharmacie.marche@operateur-a.mssante.test"
# The pharmacy's two secretaries (issue 14's demo): no e-CPS, so the password + one-time
# code door; Jeanne, who manages the pharmacy, delegated its mailbox to them (sender: they
# triage and reply).
SECRETARIES = (
    ("Sophie", "LEROY", "sophie.leroy@pharmacie-marche.test"),
    ("Lucas", "MOREAU", "lucas.moreau@pharmacie-marche.test"),
)


@dataclass(frozen=True)
class Secretary:
    person: User
    link: str  # an invitation to set up the password and app; "" once that is done


def seed_secretaries(mailboxes: dict[str, Mailbox]) -> list[Secretary]:
    """The secretaries, delegated by Jeanne on the pharmacy's mailbox, each with a fresh
    invitation link (shown by seed_demo, e-mailed to var/sent-mail/) until they have set
    up their login. Idempotent, like the rest of the seed."""
    pharmacy = mailboxes[PHARMACY]
    jeanne = pharmacy.structure.managers.order_by("pk").first() if pharmacy.structure else None
    if jeanne is None:
        return []
    found = []
    for first, last, email in SECRETARIES:
        person, created = User.objects.get_or_create(
            username=email, defaults={"email": email, "first_name": first, "last_name": last}
        )
        if created:
            person.set_unusable_password()
            person.save(update_fields=["password"])
        if not Delegation.objects.active().filter(person=person, mailbox=pharmacy).exists():
            with transaction.atomic():
                do_grant_delegation(jeanne, pharmacy, person, Delegation.Role.SENDER)
        invited = local.do_invite(jeanne, email, None, mailbox=pharmacy)
        found.append(Secretary(person, invited.link))
    return found


def missing_messages(mailboxes: dict[str, Mailbox]) -> tuple[messages.DemoMessage, ...]:
    """The demo messages not yet in their recipient's INBOX (found by Message-ID)."""
    missing = []
    for message in messages.MESSAGES:
        mailbox = mailboxes[messages.address_of(message.to)]
        with imap_session(mailbox) as client:
            client.select_folder("INBOX", readonly=True)
            if not client.search(["HEADER", "Message-ID", message.message_id]):
                missing.append(message)
    return tuple(missing)


def seed_mail(mailboxes: dict[str, Mailbox], mx_host: str, mx_port: int) -> int:
    todo = missing_messages(mailboxes)
    if todo:
        messages.deliver(todo, mx_host, mx_port, timezone.now())
    return len(todo)
