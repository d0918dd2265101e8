"""Celery tasks: thin; load by id, call the domain, decide on retry."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from mailboxes.models import AuditEvent


@shared_task(name="mailboxes.purge_audit_events")
def purge_audit_events() -> int:
    """Delete audit events older than AUDIT_RETENTION_DAYS (Ref#2 §5: six months)."""
    cutoff = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEvent.objects.filter(created__lt=cutoff).delete()
    return deleted
