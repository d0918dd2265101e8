"""Celery tasks run by a real worker on the real Redis broker (not eager mode)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from pytest_django import Settings

from mailboxes import audit
from mailboxes.models import AuditEvent
from mailboxes.tasks import purge_audit_events
from tests.integration.helpers import wait_until
from webmail.celery import app as celery_app


@pytest.mark.django_db(transaction=True)
def test_it_purges_audit_events_past_retention_in_a_real_worker(settings: Settings) -> None:
    settings.AUDIT_RETENTION_DAYS = 183
    old = audit.record(None, "login.psc")
    recent = audit.record(None, "login.psc")
    AuditEvent.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=184))
    AuditEvent.objects.filter(pk=recent.pk).update(created=timezone.now() - timedelta(days=182))
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        purge_audit_events.delay()
        wait_until(lambda: not AuditEvent.objects.filter(pk=old.pk).exists())
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
