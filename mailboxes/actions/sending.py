"""Sending an outbox message to the operator, and its copy in Sent.

Where it runs depends on the mailbox's access strategy (mailboxes/operator/strategies.py): a
worker, for a mailbox the site can reach alone; here and now, in the person's own request,
for one reached with the person's Pro Santé Connect token (XOAUTH2), which no worker ever
holds (CONF.28). Such a message that could not leave yet waits, shown as waiting for the
person's connection, and goes on their next request (`send_waiting`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from mailboxes import audit, logcontext, queue, recipients
from mailboxes.actions import syncing
from mailboxes.errors import OperatorRefused, OperatorUnavailable
from mailboxes.models import AuditEvent, Mailbox, Outgoing, User
from mailboxes.operator import imap, smtp, strategies

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)
WAITING_RETRY = timedelta(minutes=1)  # a waiting message is tried at most this often


@dataclass(frozen=True)
class Attempt:
    outcome: str  # "skipped" (not ours to send now), "sent", "failed" or "retry"
    retry_in: int = 0  # seconds, for "retry"
    copied: bool = False  # the copy is in Sent


def do_send(outgoing_id: int) -> Attempt:
    """Submit one outbox message. Claimed by a conditional update, so two callers (a task
    delivered twice, two requests) send it once. A temporary failure puts it back in the
    queue; a permanent one, or too many attempts, leaves it failed with the server's reason."""
    claimed = Outgoing.objects.filter(pk=outgoing_id, status=Outgoing.Status.QUEUED).update(
        status=Outgoing.Status.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
    )
    if not claimed:
        return Attempt("skipped")
    outgoing = Outgoing.objects.select_related("mailbox", "author").get(pk=outgoing_id)
    with logcontext.bound(outgoing.mailbox_id):
        return submit(outgoing)


def submit(outgoing: Outgoing) -> Attempt:
    """The claimed message to the operator (do_send), then its copy in Sent."""
    # The checks again (TL6): the trust list may have changed since the message was queued.
    if blocked := [o for o in recipients.outside(outgoing.recipients) if o.blocking]:
        record_refusals(outgoing.author, outgoing.mailbox, blocked)
        reason = "; ".join(o.reason for o in blocked)
        return fail(outgoing, audit.without_patient_identity(reason))
    try:
        refused = smtp.submit(
            outgoing.mailbox,
            outgoing.envelope_from,
            outgoing.recipients,
            bytes(outgoing.raw),
            dsn=outgoing.request_dsn,
            envid=outgoing.envelope_id,
        )
    except smtp.PermanentFailure as exc:
        return fail(outgoing, str(exc))
    except OperatorUnavailable as exc:
        if outgoing.attempts >= settings.WEBMAIL_SEND_MAX_ATTEMPTS:
            return fail(outgoing, str(exc))
        Outgoing.objects.filter(pk=outgoing.pk).update(
            status=Outgoing.Status.QUEUED, error=str(exc)[:500]
        )
        return Attempt("retry", retry_in=retry_delay(outgoing.attempts))
    note = "; ".join(f"{rcpt}: {reason}" for rcpt, reason in refused.items())
    # Sent: nothing to send again, so a patient's address goes as in the audit trail (the
    # content goes once copied to Sent).
    Outgoing.objects.filter(pk=outgoing.pk).update(
        status=Outgoing.Status.SENT,
        sent_at=timezone.now(),
        error=audit.without_patient_identity(note)[:500],
        recipients=[audit.without_patient_identity(r) for r in outgoing.recipients],
    )
    record_outcome(outgoing, AuditEvent.Outcome.OK, note)
    return Attempt("sent", copied=copy_to_sent(outgoing))


LONGEST_RETRY = 3600  # seconds; the broker's visibility timeout is set above it (settings)
LOST_AFTER = timedelta(minutes=2)  # past its due time and still queued: its task was lost


def retry_delay(attempts: int) -> int:
    """Seconds before the next try after `attempts` tries: doubling, at most an hour."""
    return int(min(settings.WEBMAIL_SEND_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY))


def do_requeue_lost() -> int:
    """Queued messages whose task is gone (the broker restarted without its data, a worker
    died holding the retry) are queued again once past their due time. Sending stays once:
    do_send claims the row, so a task that was only late finds nothing left to do."""
    now = timezone.now()
    waiting = Outgoing.objects.filter(
        status=Outgoing.Status.QUEUED,
        mailbox__in=strategies.reachable_in_background(Mailbox.objects.all()),
    ).select_related("mailbox")
    lost = [outgoing for outgoing in waiting if _due(outgoing) + LOST_AFTER < now]
    for outgoing in lost:
        queue.later(queue.SEND_OUTGOING, outgoing.pk)
        audit.record(
            None,
            "message.requeue",
            mailbox=outgoing.mailbox,
            target=outgoing.message_id,
            response="task lost: queued again",
        )
    return len(lost)


def _due(outgoing: Outgoing) -> datetime:
    if not outgoing.attempts or outgoing.claimed_at is None:
        return outgoing.created
    return outgoing.claimed_at + timedelta(seconds=retry_delay(outgoing.attempts))


def record_outcome(outgoing: Outgoing, outcome: str, response: str = "") -> None:
    audit.record(
        outgoing.author,
        "message.send",
        mailbox=outgoing.mailbox,
        target=outgoing.message_id,
        outcome=outcome,
        response=response,
    )


def record_refusals(
    author: User,
    mailbox: Mailbox,
    outside: list[recipients.Outside],
    request: HttpRequest | None = None,
) -> None:
    """One `message.refused` event per refused domain: the domain only, never the address
    (a patient's is their INS) nor anything of the message (TL5)."""
    for domain in sorted({o.domain for o in outside if o.blocking}):
        audit.record(
            author,
            "message.refused",
            mailbox=mailbox,
            target=domain,
            outcome=AuditEvent.Outcome.DENIED,
            response="outside the trust space",
            request=request,
        )


def fail(outgoing: Outgoing, reason: str) -> Attempt:
    Outgoing.objects.filter(pk=outgoing.pk).update(
        status=Outgoing.Status.FAILED, error=reason[:500]
    )
    record_outcome(outgoing, AuditEvent.Outcome.ERROR, reason)
    return Attempt("failed")


def copy_to_sent(outgoing: Outgoing, *, again: bool = False) -> bool:
    """Keep a copy in Sent; only then forget the content (health data) on our side. When
    it fails the content stays (the person still sees the message in the outbox) and the
    sweep tries again (`do_retry_sent_copies`), checking first that no copy got there."""
    try:
        imap.append(
            outgoing.mailbox,
            "\\Sent",
            bytes(outgoing.raw),
            unless_there=outgoing.message_id if again else "",
        )
    except (OperatorUnavailable, OperatorRefused) as exc:
        logger.warning("copy to Sent of outgoing %s failed (%s)", outgoing.pk, type(exc).__name__)
        if again:
            _copy_retried(outgoing, AuditEvent.Outcome.ERROR, str(exc))
        return False
    Outgoing.objects.filter(pk=outgoing.pk).update(copied_to_sent=True, raw=b"")
    if again:
        _copy_retried(outgoing, AuditEvent.Outcome.OK, "copied to Sent")
    return True


def _copy_retried(outgoing: Outgoing, outcome: str, response: str) -> None:
    """A copy made later, by the sweep or the person's next request: audited (the first
    copy is part of the send's own event)."""
    audit.record(
        None,
        "message.copy_sent",
        mailbox=outgoing.mailbox,
        target=outgoing.message_id,
        outcome=outcome,
        response=audit.without_patient_identity(response)[:500],
    )


def do_retry_sent_copies() -> int:
    """Sent messages whose copy in Sent failed (IMAP down a moment, the sweep having marked
    an interrupted send as sent): copied now, once. Mailboxes only the person can reach are
    retried on their next request (send_waiting)."""
    pending = Outgoing.objects.filter(
        status=Outgoing.Status.SENT,
        copied_to_sent=False,
        mailbox__in=strategies.reachable_in_background(Mailbox.objects.all()),
    ).select_related("mailbox")
    copied = [o.mailbox for o in pending if bytes(o.raw) and copy_to_sent(o, again=True)]
    for mailbox in {m.pk: m for m in copied}.values():
        syncing.request_sync(mailbox, force=True)
    return len(copied)


def needs_the_person(mailbox: Mailbox) -> bool:
    return not strategies.strategy_for(mailbox).background


def send_here(outgoing_id: int) -> Attempt:
    """In the person's request (their token at hand): send, and show the copy in Sent."""
    attempt = do_send(outgoing_id)
    if attempt.copied:
        mailbox = Mailbox.objects.get(outgoing__pk=outgoing_id)
        syncing.request_sync(mailbox, force=True)
    return attempt


def enqueue(outgoing: Outgoing) -> None:
    """Once the transaction commits: a worker sends it, or this request does when only the
    person can reach the mailbox."""
    if needs_the_person(outgoing.mailbox):
        transaction.on_commit(lambda: send_here(outgoing.pk))
        return
    transaction.on_commit(lambda: queue.later(queue.SEND_OUTGOING, outgoing.pk))


def waiting_for(person: User) -> QuerySet[Outgoing]:
    """The person's messages that wait for them: queued in a mailbox only they can reach."""
    mailboxes = Mailbox.objects.exclude(
        pk__in=strategies.reachable_in_background(Mailbox.objects.all()).values("pk")
    )
    return Outgoing.objects.filter(
        author=person, status=Outgoing.Status.QUEUED, mailbox__in=mailboxes
    )


def send_waiting(person: User) -> int:
    """On the person's request (their token at hand), what waited for them goes; tried at
    most once a minute, so an operator that is down slows no page down."""
    if not django_cache.add(f"webmail:send-waiting:{person.pk}", 1, WAITING_RETRY.seconds):
        return 0
    ids = list(waiting_for(person).values_list("pk", flat=True)[:20])
    sent = sum(send_here(pk).outcome == "sent" for pk in ids)
    uncopied = Outgoing.objects.filter(
        author=person, status=Outgoing.Status.SENT, copied_to_sent=False
    ).exclude(mailbox__in=strategies.reachable_in_background(Mailbox.objects.all()))
    for outgoing in uncopied.select_related("mailbox")[:20]:
        if bytes(outgoing.raw):
            copy_to_sent(outgoing, again=True)
    return sent
