"""The Celery application; configuration comes from Django settings (CELERY_ namespace)."""

from __future__ import annotations

import os

from celery import Celery, signals

from webmail import observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

app = Celery("webmail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "purge-audit-events": {"task": "mailboxes.purge_audit_events", "schedule": 6 * 3600},
    # For mailboxes nobody has open (the IDLE watcher covers the others), reports are polled.
    "collect-receipts": {"task": "mailboxes.collect_recent_receipts", "schedule": 60},
    "sweep-interrupted-sends": {"task": "mailboxes.sweep_interrupted_sends", "schedule": 300},
    "retry-sent-copies": {"task": "mailboxes.retry_sent_copies", "schedule": 300},
    # The MSSanté trust list, from TRUSTLIST_SOURCE (CONFORMANCE.md TL3).
    "refresh-trust-list": {"task": "directory.refresh_trust_list", "schedule": 24 * 3600},
    # The Annuaire Santé extraction, from ANNUAIRE_SOURCE when set (DIR1).
    "import-annuaire": {"task": "directory.import_annuaire", "schedule": 24 * 3600},
}

# Every line a task logs names it (and its mailbox); its latency is counted for /metrics.
signals.task_prerun.connect(observability.task_started, weak=False)
signals.task_postrun.connect(observability.task_finished, weak=False)
