"""Celery tasks run by a real worker on the real Redis broker (not eager mode)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone
from pytest_django import Settings

from mailboxes import audit
from mailboxes.models import AuditEvent, Mailbox, Outgoing, User
from mailboxes.tasks import purge_audit_events, sweep_interrupted_sends
from tests.conftest import client_for
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


@pytest.mark.django_db
def test_interrupted_sends_are_shown_not_resent(marie: User, marie_mailbox: Mailbox) -> None:
    def outgoing(n: int, minutes_ago: int) -> Outgoing:
        return Outgoing.objects.create(
            mailbox=marie_mailbox,
            author=marie,
            message_id=f"<{n}@operateur-a.mssante.test>",
            envelope_from=marie_mailbox.address,
            recipients=["karim.benali@hopital-c.mssante.test"],
            raw=b"x",
            status=Outgoing.Status.SENDING,
            claimed_at=timezone.now() - timedelta(minutes=minutes_ago),
        )

    lost, delivered, busy = outgoing(1, 20), outgoing(2, 20), outgoing(3, 2)
    delivered.receipts.create(
        kind="dsn", recipient="karim.benali@hopital-c.mssante.test", action="delivered"
    )
    assert sweep_interrupted_sends() == 2
    statuses = dict(Outgoing.objects.values_list("pk", "status"))
    assert statuses == {lost.pk: "failed", delivered.pk: "sent", busy.pk: "sending"}
    assert Outgoing.objects.get(pk=lost.pk).error == Outgoing.INTERRUPTED
    page = client_for(marie).get(reverse("mail-outbox", args=[marie_mailbox.pk]))
    assert "a peut-être été envoyé" in page.content.decode()


def test_the_work_the_domain_asks_for_by_name_is_registered() -> None:
    """mailboxes.queue names tasks instead of importing them (no cycle): a typo or a renamed
    task would silently go to no worker, so every name must be a registered task."""
    from mailboxes import queue

    celery_app.loader.import_default_modules()
    assert set(queue.NAMES) <= set(celery_app.tasks)


@pytest.mark.django_db(transaction=True)
def test_a_sync_asked_for_by_name_runs_in_a_real_worker(
    marie_mailbox: Mailbox, operator_backend: object
) -> None:
    from mailboxes import queue
    from mailboxes.models import SyncState

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        queue.later(queue.SYNC_MAILBOX, marie_mailbox.pk)
        wait_until(
            lambda: SyncState.objects.filter(
                mailbox=marie_mailbox, finished_at__isnull=False
            ).exists(),
            seconds=30,
        )
