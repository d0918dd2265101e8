"""Prometheus metrics (GET /metrics, webmail/views/metrics.py): requests, task latencies,
sync lag, queue depth and the outbox, in the text exposition format of prometheus_client.

Counted in Redis, not in each process: every gunicorn worker and Celery worker, on every
machine, adds to the same numbers, and any web node answers a scrape with the whole site's. A
task adds its count at once (a pipelined HINCRBY); a request never waits for Redis: its count
joins the process's own buffer, which a thread of the process adds to Redis every
FLUSH_SECONDS in one pipeline (and at exit, and before the process answers a scrape), so the
site's counts are at most that late (issue 16: a round trip to Redis on every request). prometheus_client's multiprocess mode would aggregate
only the processes sharing one PROMETHEUS_MULTIPROC_DIR, so only one machine's, and a scrape
through the load balancer would see a different node's counters each time; its files must
also be wiped when a process group restarts, which resets counters the others still hold.
What is counted: request latencies by view name and status, task latencies by task name and
state. What is read at scrape time, never counted: queue lengths from the broker, sync lag
from SyncState, outbox rows by status. Labels name views, tasks, queues and mailbox ids,
never a person or anything of a message.
"""

from __future__ import annotations

import atexit
import bisect
import functools
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import redis
from django.conf import settings
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
PREFIX = "webmail:metrics:"
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
FLUSH_SECONDS = 1.0  # how late a request's count may reach Redis
# kombu's Redis transport keeps a queue's priorities 3, 6 and 9 in lists of their own.
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


@functools.cache
def _client(url: str) -> redis.Redis:
    # Short timeouts: counting is best effort and must never hold a page up.
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def client() -> redis.Redis:
    return _client(settings.WEBMAIL_METRICS_REDIS_URL)


_last_warning = 0.0


def _lost(exc: Exception) -> None:
    """A count that could not be kept: said once a minute per process, not per request."""
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        logger.warning("metrics: Redis unreachable, counts lost (%s)", type(exc).__name__)


@dataclass(frozen=True)
class Histogram:
    """A histogram (and its count as a counter) kept in three Redis hashes: count and sum
    per label set, and how many observations fell in each bucket (not cumulative: one
    increment per observation; cumulated when read)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]
    counter: str  # the counter's name, without its _total
    buffered: bool = False  # counted through the process's buffer (requests), not at once

    @property
    def key(self) -> str:
        return PREFIX + self.name

    def observe(self, values: tuple[str, ...], seconds: float) -> None:
        if not settings.WEBMAIL_METRICS:
            return
        field = "\t".join(values)
        bucket = bisect.bisect_left(self.buckets, seconds)  # len(buckets): above them all
        if self.buffered:
            BUFFER.add(self.key, field, bucket, seconds)
        else:
            add((((self.key, field), (1, seconds, {bucket: 1})),))

    def families(self) -> list[Metric]:
        BUFFER.flush()  # this process's own counts are in the answer
        pipe = client().pipeline(transaction=True)  # one snapshot: buckets add up to counts
        for part in ("count", "sum", "buckets"):
            pipe.hgetall(f"{self.key}:{part}")
        counts, sums, buckets = (_decoded(answer) for answer in pipe.execute())
        per_bucket: dict[str, list[int]] = {}
        for field, value in buckets.items():
            labels, _, index = field.rpartition("\t")
            per_bucket.setdefault(labels, [0] * len(self.buckets))
            if int(index) < len(self.buckets):
                per_bucket[labels][int(index)] += int(value)
        histogram = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        counter = CounterMetricFamily(self.counter, self.documentation, labels=self.labels)
        for field, count in sorted(counts.items()):
            values = field.split("\t")
            running, points = 0, []
            for bound, n in zip(self.buckets, per_bucket.get(field, []), strict=False):
                running += n
                points.append((_bound(bound), float(running)))
            points.append(("+Inf", float(count)))
            histogram.add_metric(values, points, sum_value=float(sums.get(field, 0)))
            counter.add_metric(values, float(count))
        return [histogram, counter]


Counts = tuple[int, float, dict[int, int]]  # observations, their sum, per bucket


def add(counts: Iterable[tuple[tuple[str, str], Counts]]) -> None:
    """Add counts to Redis in one transaction (a scrape sees count, sum and buckets agree)."""
    try:
        pipe = client().pipeline(transaction=True)
        for (key, field), (count, total, buckets) in counts:
            pipe.hincrby(f"{key}:count", field, count)
            pipe.hincrbyfloat(f"{key}:sum", field, total)
            for bucket, n in buckets.items():
                pipe.hincrby(f"{key}:buckets", f"{field}\t{bucket}", n)
        pipe.execute()
    except RedisError as exc:
        _lost(exc)


class Buffer:
    """Counts observed in this process, not yet in Redis. Its flushing thread is started by
    the first count of each process (a forked gunicorn worker has no thread of its parent)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[tuple[str, str], Counts] = {}
        self.pid = 0

    def add(self, key: str, field: str, bucket: int, seconds: float) -> None:
        with self.lock:
            if self.pid != os.getpid():
                self.pid = os.getpid()
                self.pending = {}  # a parent's counts are the parent's to add
                threading.Thread(target=self._run, name="metrics-flush", daemon=True).start()
            count, total, buckets = self.pending.get((key, field), (0, 0.0, {}))
            buckets[bucket] = buckets.get(bucket, 0) + 1
            self.pending[(key, field)] = (count + 1, total + seconds, buckets)

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, {}
        if pending:
            add(pending.items())

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()


BUFFER = Buffer()
atexit.register(BUFFER.flush)


def _decoded(answer: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in answer.items()}


def _bound(bound: float) -> str:
    return str(int(bound)) if bound == int(bound) else str(bound)


REQUESTS = Histogram(
    "webmail_http_request_duration_seconds",
    "Requests served, by view name and status: time from the first middleware to the answer.",
    ("view", "status"),
    REQUEST_BUCKETS,
    "webmail_http_requests",
    buffered=True,
)
TASKS = Histogram(
    "webmail_task_duration_seconds",
    "Celery tasks run, by task name and final state (SUCCESS, RETRY, FAILURE).",
    ("task", "state"),
    TASK_BUCKETS,
    "webmail_tasks",
)


def queue_names() -> list[str]:
    """The queues the workers take (WEBMAIL_TASK_QUEUES: send, sync, celery; else celery)."""
    routes = getattr(settings, "CELERY_TASK_ROUTES", {})
    return sorted({"celery", *(route["queue"] for route in routes.values())})


def queue_families() -> Iterator[Metric]:
    """Tasks waiting in each queue, and those handed to a worker and not yet done (kombu's
    "unacked": running, prefetched, or held for a retry's countdown)."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
        return  # another broker: its own monitoring tells
    broker = _client(settings.CELERY_BROKER_URL)
    names = queue_names()
    pipe = broker.pipeline(transaction=False)
    for name in names:
        for suffix in PRIORITY_SUFFIXES:
            pipe.llen(name + suffix)
    pipe.hlen("unacked")
    answers = pipe.execute()
    depth = GaugeMetricFamily(
        "webmail_queue_length", "Tasks waiting in a broker queue.", labels=["queue"]
    )
    for i, name in enumerate(names):
        step = len(PRIORITY_SUFFIXES)
        depth.add_metric([name], float(sum(answers[i * step : (i + 1) * step])))
    yield depth
    yield GaugeMetricFamily(
        "webmail_queue_unacked_tasks",
        "Tasks handed to a worker and not yet acknowledged (running, prefetched, or waiting "
        "for a retry's countdown).",
        value=float(answers[-1]),
    )


def sync_families() -> Iterator[Metric]:
    """Sync lag of the mailboxes someone has open (now - their last finished sync), the
    worst of them, and how many syncs run or fail."""
    from django.db.models import F, Q
    from django.utils import timezone

    from mailboxes import locks
    from mailboxes.mailcache import live
    from mailboxes.models import SyncState

    now = timezone.now()
    open_now = live.active()
    lag = GaugeMetricFamily(
        "webmail_sync_lag_seconds",
        "Seconds since the last finished sync of each mailbox someone has open.",
        labels=["mailbox"],
    )
    worst = 0.0
    states = SyncState.objects.filter(mailbox_id__in=open_now, finished_at__isnull=False)
    for mailbox_id, finished in states.values_list("mailbox_id", "finished_at"):
        seconds = max(0.0, (now - finished).total_seconds()) if finished else 0.0
        worst = max(worst, seconds)
        lag.add_metric([str(mailbox_id)], seconds)
    yield lag
    yield GaugeMetricFamily(
        "webmail_sync_lag_max_seconds",
        "The largest sync lag among the mailboxes someone has open (0: none open).",
        value=worst,
    )
    synced = set(states.values_list("mailbox_id", flat=True))
    yield GaugeMetricFamily(
        "webmail_sync_never_finished_mailboxes",
        "Mailboxes someone has open whose first sync has not finished.",
        value=float(len(open_now - synced)),
    )
    running = sum(1 for _ in locks.client().scan_iter(match=f"{locks.SYNC_PREFIX}*", count=1000))
    yield GaugeMetricFamily(
        "webmail_syncs_running", "Syncs running now (their lock held).", value=float(running)
    )
    failing = SyncState.objects.exclude(error="").filter(
        Q(finished_at__isnull=True) | Q(error_at__gte=F("finished_at")), error_at__isnull=False
    )
    yield GaugeMetricFamily(
        "webmail_syncs_failing",
        "Mailboxes whose last sync failed (operator unreachable or refusing).",
        value=float(failing.count()),
    )


def outbox_families() -> Iterator[Metric]:
    from django.db.models import Count

    from mailboxes.models import Outgoing

    rows = dict(
        Outgoing.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    family = GaugeMetricFamily(
        "webmail_outbox_messages", "Outbox rows by status.", labels=["status"]
    )
    for status in Outgoing.Status.values:
        family.add_metric([status], float(rows.get(status, 0)))
    yield family


class SiteCollector(Collector):
    """Everything above, read at each scrape."""

    def collect(self) -> Iterable[Metric]:
        yield from REQUESTS.families()
        yield from TASKS.families()
        yield from queue_families()
        yield from sync_families()
        yield from outbox_families()


def registry() -> CollectorRegistry:
    """A registry of our own: the default one's process metrics would describe whichever
    web process answered, which says nothing about the site."""
    site = CollectorRegistry(auto_describe=False)
    site.register(SiteCollector())
    return site
