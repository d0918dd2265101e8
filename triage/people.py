"""Who works on a mailbox's conversations: the people one may assign or @mention."""

from __future__ import annotations

import re
import unicodedata

from django.db.models import Q

from mailboxes import access
from mailboxes.access import Action, Role
from mailboxes.models import Delegation, Mailbox, User

MENTION = re.compile(r"(?<![\w@.])@([\w][\w.-]*\w|\w)")


def roles_of(mailbox: Mailbox) -> list[tuple[User, Role]]:
    """Everyone with a role on the mailbox (its owner, its structure's managers, its active
    delegates) and that role, by name. The policy decides, person by person, once: a shared
    mailbox has a handful of people."""
    delegated = Delegation.objects.active().filter(mailbox=mailbox).values("person_id")
    candidates = Q(pk__in=delegated) | Q(pk=mailbox.owner_id or 0)
    if mailbox.structure_id:
        candidates |= Q(managed_structures=mailbox.structure_id)
    found = []
    for person in User.objects.filter(candidates, is_active=True).distinct():
        role = access.role_of(person, mailbox)
        if role is not None:
            found.append((person, role))
    return sorted(found, key=lambda pair: (pair[0].last_name, pair[0].first_name, pair[0].pk))


def people_of(mailbox: Mailbox, action: Action = Action.READ) -> list[User]:
    """Everyone who may do `action` on the mailbox, by name."""
    least = access.MINIMUM_ROLE[action]
    return [person for person, role in roles_of(mailbox) if role >= least]


def handle(person: User) -> str:
    """How a note mentions a person: "@jeanne.lefevre" (their name without accents), else
    their user name."""
    name = unicodedata.normalize("NFKD", person.get_full_name()).encode("ascii", "ignore")
    words = re.findall(r"[a-z0-9]+", name.decode().lower())
    return ".".join(words) or person.get_username()


def mentioned(text: str, people: list[User]) -> list[User]:
    """The people of `people` that the text @mentions, each once, in order of the text."""
    by_handle = {handle(person).lower(): person for person in people}
    found: dict[int, User] = {}
    for word in MENTION.findall(text):
        person = by_handle.get(word.lower())
        if person is not None:
            found.setdefault(person.pk, person)
    return list(found.values())
