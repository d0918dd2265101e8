"""Celery tasks: thin; load by id, call the domain, decide on retry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.app.task import Task
from django.conf import settings
from django.utils import timezone

from mailboxes import audit, logcontext
from mailboxes.actions import receipts, sending, syncing
from mailboxes.models import AuditEvent, Mailbox, Outgoing
from mailboxes.operator import OperatorUnavailable
from mailboxes.operator.strategies import reachable_in_background


@shared_task(name="mailboxes.purge_audit_events")
def purge_audit_events() -> int:
    """Delete audit events older than AUDIT_RETENTION_DAYS (Ref#2 §5: six months)."""
    cutoff = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEvent.objects.filter(created__lt=cutoff).delete()
    return deleted


@shared_task(bind=True, name="mailboxes.send_outgoing", max_retries=None)
def send_outgoing(self: Task[Any, Any], outgoing_id: int) -> str:
    """Submit one outbox message (sending.do_send); temporary failures retry with backoff,
    permanent ones stay visible with the server's reason."""
    mailbox_id = (
        Outgoing.objects.filter(pk=outgoing_id).values_list("mailbox_id", flat=True).first()
    )
    if mailbox_id is None:
        return "skipped"  # discarded meanwhile
    # For the rest of the task (Celery's own lines about it too); the task's log scope puts
    # it back when the task ends (webmail.observability).
    logcontext.mailbox_id.set(mailbox_id)
    attempt = sending.do_send(outgoing_id)
    if attempt.outcome == "retry":
        raise self.retry(countdown=attempt.retry_in)
    if attempt.copied:
        sync_mailbox.delay(mailbox_id)  # the copy shows in Sent and its conversation
    return attempt.outcome


STUCK_AFTER = timedelta(minutes=15)


@shared_task(name="mailboxes.sweep_interrupted_sends")
def sweep_interrupted_sends() -> int:
    """Queued messages whose task was lost are queued again (sending.do_requeue_lost).
    A worker that died between the operator's acceptance and our "sent" leaves a row in
    "sending" for ever. After STUCK_AFTER: a delivery report proves it left (sent); else it
    is shown as not sent, saying it may have left, so the person checks before retrying.
    Never sent again by itself: a message twice to a colleague is worse than a question."""
    stuck = Outgoing.objects.filter(
        status=Outgoing.Status.SENDING, claimed_at__lt=timezone.now() - STUCK_AFTER
    ).select_related("mailbox", "author")
    for outgoing in stuck:
        left = outgoing.receipts.filter(kind="dsn", action__in=["delivered", "relayed"])
        if left.exists():
            Outgoing.objects.filter(pk=outgoing.pk).update(
                status=Outgoing.Status.SENT,
                sent_at=timezone.now(),
                recipients=[audit.without_patient_identity(r) for r in outgoing.recipients],
            )
            sending.record_outcome(outgoing, AuditEvent.Outcome.OK, "delivery report received")
            continue
        sending.fail(outgoing, Outgoing.INTERRUPTED)
    return len(stuck) + sending.do_requeue_lost()


@shared_task(name="mailboxes.retry_sent_copies")
def retry_sent_copies() -> int:
    """Copies to Sent that failed are made now (sending.do_retry_sent_copies)."""
    return sending.do_retry_sent_copies()


@shared_task(name="mailboxes.collect_receipts")
def collect_receipts(mailbox_id: int) -> int:
    """Match the delivery and read reports in a mailbox's INBOX to its sent messages."""
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        return 0
    return receipts.do_collect_receipts(mailbox)


@shared_task(name="mailboxes.collect_recent_receipts")
def collect_recent_receipts() -> int:
    """Every mailbox that sent something in the last week gets its reports collected."""
    since = timezone.now() - timedelta(days=7)  # as awaits_reports
    # Not those only the person can open (XOAUTH2): their sync, in the person's request,
    # collects them (below).
    reachable = reachable_in_background(Mailbox.objects.all()).values("pk")
    busy = Outgoing.objects.filter(sent_at__gte=since, mailbox__in=reachable).values_list(
        "mailbox_id", flat=True
    )
    for mailbox_id in set(busy):
        collect_receipts.delay(mailbox_id)
    return len(set(busy))


@shared_task(
    bind=True,
    name="mailboxes.sync_mailbox",
    autoretry_for=(OperatorUnavailable,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def sync_mailbox(self: Task[Any, Any], mailbox_id: int) -> str:
    """Refresh a mailbox's metadata cache (one at a time per mailbox: see do_sync)."""
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        return "gone"
    return syncing.do_sync(mailbox)
