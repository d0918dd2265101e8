"""Append-only audit trail of actions on mailboxes. Never content: see AuditEvent."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mailboxes.mail.headers import redacted
from mailboxes.models import AuditEvent, direct

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpRequest

    from mailboxes.models import Mailbox, User

logger = logging.getLogger(__name__)


def without_patient_identity(text: str) -> str:
    """Server answers and targets quote addresses; a patient's must not reach the trail."""
    return redacted(text)  # Mon espace santé addresses are <INS>@patient.mssante.fr


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    actor: User | AnonymousUser | None,
    action: str,
    *,
    mailbox: Mailbox | None = None,
    target: str = "",
    outcome: str = AuditEvent.Outcome.OK,
    response: str = "",
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Write one audit event. `target` is a folder/UID or a Message-ID, never content."""
    person = actor if actor is not None and actor.is_authenticated else None
    event = AuditEvent(
        actor=person,
        actor_label=str(person)[:200] if person else "",
        actor_subject_name_id=(person.subject_name_id or "") if person else "",
        mailbox=mailbox,
        mailbox_address=mailbox.address if mailbox else "",
        action=action,
        target=without_patient_identity(target)[:500],
        outcome=outcome,
        response=without_patient_identity(response)[:200],
        client_ip=client_ip(request),
    )
    direct.insert(event)  # objects.create()'s work, without building it anew each time
    # The mailbox by id: its address names a person (the trail itself keeps it).
    logger.info(
        "audit %s mailbox=%s outcome=%s event=%s", action, event.mailbox_id, outcome, event.pk
    )
    return event


class Recorder:
    """`with Recorder(person, "message.move", ...) as event:` do the work, set
    `event.response`; one event is written on the way out: ok, or error with the failure's
    text (the server's answer) when the work raised. The exception goes on."""

    def __init__(
        self,
        actor: User | AnonymousUser | None,
        action: str,
        *,
        mailbox: Mailbox | None = None,
        target: str = "",
        request: HttpRequest | None = None,
    ) -> None:
        self.actor, self.action, self.mailbox = actor, action, mailbox
        self.target, self.request = target, request
        self.response = ""

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: object
    ) -> None:
        failed = error is not None and isinstance(error, Exception)
        record(
            self.actor,
            self.action,
            mailbox=self.mailbox,
            target=self.target,
            outcome=AuditEvent.Outcome.ERROR if failed else AuditEvent.Outcome.OK,
            response=str(error) if failed else self.response,
            request=self.request,
        )
