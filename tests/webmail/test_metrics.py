"""GET /metrics: the Prometheus text format, behind a bearer token or a staff login, counted
in Redis across processes (the real gunicorn and worker processes:
tests/integration/test_observability.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from pytest_django import Settings

from mailboxes import locks
from mailboxes.mailcache import live
from mailboxes.models import Mailbox, Outgoing, SyncState, User
from tests.conftest import client_for
from webmail import metrics
from webmail.celery import app as celery_app

pytestmark = pytest.mark.django_db
TOKEN = "scraper-token-0123456789abcdef"


@pytest.fixture
def token(settings: Settings) -> str:
    settings.WEBMAIL_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(
    client: Client | None = None, token: str = TOKEN
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and labels."""
    answer = (client or Client()).get(
        reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {token}" if client is None else ""
    )
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(answer.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_it_refuses_without_credentials_and_with_wrong_ones(token: str, marie: User) -> None:
    url = reverse("metrics")
    anonymous = Client().get(url)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert Client().get(url, HTTP_AUTHORIZATION="Bearer not-the-token").status_code == 403
    assert client_for(marie).get(url).status_code == 403  # logged in, not staff
    assert b"webmail_" not in anonymous.content
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_a_staff_member_may_read_them_and_no_token_means_staff_only(
    settings: Settings, marie: User
) -> None:
    settings.WEBMAIL_METRICS_TOKEN = ""
    assert Client().get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert Client().get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer x").status_code == 403
    User.objects.filter(pk=marie.pk).update(is_staff=True)
    marie.refresh_from_db()
    assert client_for(marie).get(reverse("metrics")).status_code == 200


def test_a_request_is_counted_by_the_process_thread_never_waiting_for_redis(
    marie: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request only adds to its process's buffer; the buffer's thread adds it to Redis
    within a second (issue 16: one round trip to Redis less on every request)."""
    metrics.BUFFER.flush()  # what earlier tests left in the buffer
    key, field = f"{metrics.REQUESTS.key}:count", "healthz-live\t200"
    before = int(metrics.client().hget(key, field) or 0)
    adders: list[str] = []
    real = metrics.add

    def watched(counts: Iterable[tuple[tuple[str, str], metrics.Counts]]) -> None:
        counts = list(counts)
        if any(field.startswith("healthz-live\t") for (_, field), _ in counts):
            adders.append(threading.current_thread().name)
        real(counts)

    monkeypatch.setattr(metrics, "add", watched)
    client = client_for(marie)
    for _ in range(3):
        assert client.get(reverse("healthz-live")).status_code == 200
    deadline = time.monotonic() + 5
    while int(metrics.client().hget(key, field) or 0) < before + 3:
        assert time.monotonic() < deadline, "the requests never reached Redis"
        time.sleep(0.05)
    assert adders and set(adders) == {"metrics-flush"}, adders
    assert int(metrics.client().hget(key, field) or 0) == before + 3


def test_it_counts_requests_by_view_and_status_in_a_histogram(token: str, marie: User) -> None:
    before = scrape()
    client = client_for(marie)
    for _ in range(3):
        assert client.get(reverse("healthz-live")).status_code == 200
    assert client.get("/nulle-part/").status_code == 404
    after = scrape()
    live_200 = {"view": "healthz-live", "status": "200"}
    counted = "webmail_http_requests_total"
    assert value(after, counted, **live_200) - value(before, counted, **live_200) == 3
    missing = {"view": "unresolved", "status": "404"}
    assert value(after, counted, **missing) - value(before, counted, **missing) == 1
    histogram = "webmail_http_request_duration_seconds"
    count = value(after, f"{histogram}_count", **live_200)
    assert value(after, f"{histogram}_bucket", **live_200, le="+Inf") == count
    assert value(after, f"{histogram}_bucket", **live_200, le="10") <= count
    assert 0 < value(after, f"{histogram}_sum", **live_200) < 10 * count
    cumulative = [
        value(after, f"{histogram}_bucket", **live_200, le=metrics._bound(bound))
        for bound in metrics.REQUEST_BUCKETS
    ]
    assert cumulative == sorted(cumulative)  # buckets are cumulative


def test_it_shows_the_outbox_by_status_and_the_queues_depth(
    token: str, settings: Settings, marie: User, marie_mailbox: Mailbox
) -> None:
    for n, status in enumerate((Outgoing.Status.QUEUED, Outgoing.Status.QUEUED, "failed")):
        Outgoing.objects.create(
            mailbox=marie_mailbox, author=marie, status=status, message_id=f"<{n}@x>"
        )
    settings.CELERY_TASK_ROUTES = {"mailboxes.purge_audit_events": {"queue": "metrics-test"}}
    broker = metrics._client(settings.CELERY_BROKER_URL)
    broker.delete("metrics-test")
    try:
        for _ in range(2):
            celery_app.send_task("mailboxes.purge_audit_events", queue="metrics-test")
        samples = scrape()
    finally:
        broker.delete("metrics-test")
    assert value(samples, "webmail_outbox_messages", status="queued") == 2
    assert value(samples, "webmail_outbox_messages", status="failed") == 1
    assert value(samples, "webmail_outbox_messages", status="sending") == 0
    assert value(samples, "webmail_queue_length", queue="metrics-test") == 2
    assert ("webmail_queue_length", (("queue", "celery"),)) in samples
    assert ("webmail_queue_unacked_tasks", ()) in samples


def test_it_shows_the_sync_lag_of_open_mailboxes_and_the_syncs_running(
    token: str, marie_mailbox: Mailbox, karim_mailbox: Mailbox
) -> None:
    now = timezone.now()
    SyncState.objects.create(
        mailbox=marie_mailbox, started_at=now - timedelta(seconds=95), finished_at=now - timedelta(seconds=90)
    )  # fmt: skip
    live.touch(marie_mailbox.pk)
    live.touch(karim_mailbox.pk)  # open, never synced
    key = locks.sync_key(karim_mailbox.pk)
    locks.client().set(key, "worker", ex=30)
    try:
        samples = scrape()
    finally:
        locks.client().delete(key)
        live.client().zrem(live.ACTIVE_KEY, str(marie_mailbox.pk), str(karim_mailbox.pk))
    lag = value(samples, "webmail_sync_lag_seconds", mailbox=str(marie_mailbox.pk))
    assert 90 <= lag < 120
    assert value(samples, "webmail_sync_lag_max_seconds") >= lag
    assert value(samples, "webmail_sync_never_finished_mailboxes") >= 1
    assert value(samples, "webmail_syncs_running") >= 1
