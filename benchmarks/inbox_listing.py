"""Inbox listing and message opening straight from IMAP (today's hot path), and the
metadata cache's sync against a raw FETCH of the same fields.

Seeds a mailbox of N messages by IMAP APPEND, then times list_folder (first page),
fetch_message, a raw FETCH, the initial sync and a no-change resync. Prints one JSON
object. Run through scripts/bench.sh.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from mailboxes import sync  # noqa: E402
from mailboxes.models import Mailbox, MessageIndex  # noqa: E402
from mailboxes.operator import imap  # noqa: E402
from webmail.demo import messages  # noqa: E402

COUNT = int(os.environ.get("BENCH_MESSAGES", "2000"))
RUNS = int(os.environ.get("BENCH_RUNS", "50"))
MAILBOX = Mailbox(address="karim.benali@hopital-c.mssante.test")


def seed() -> float:
    started = time.perf_counter()
    now = timezone.now()
    with imap.imap_session(MAILBOX) as client:
        for i in range(COUNT):
            demo = messages.MESSAGES[i % len(messages.MESSAGES)]
            msg = messages.build(demo, now - timedelta(minutes=i))
            del msg["Message-ID"]
            msg["Message-ID"] = f"<bench-{i}@hopital-c.mssante.test>"
            client.append("INBOX", msg.as_bytes(), flags=(), msg_time=now)
    return time.perf_counter() - started


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def timed(function: object, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def raw_fetch_rate() -> float:
    """The limit: plain imapclient FETCH of the fields the cache keeps, in the same chunks."""
    started = time.perf_counter()
    with imap.imap_session(MAILBOX) as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        for part in sync.chunks(uids):
            client.fetch(part, [b"FLAGS", b"RFC822.SIZE", sync.HEADERS])
    return len(uids) / (time.perf_counter() - started)


def sync_rates() -> tuple[float, float]:
    """Initial sync (messages/s) and a resync with nothing changed (ms)."""
    call_command("migrate", verbosity=0)
    mailbox, _ = Mailbox.objects.get_or_create(address=MAILBOX.address, defaults={"kind": "PER"})
    MessageIndex.objects.all().delete()
    started = time.perf_counter()
    results = sync.sync_mailbox(mailbox)
    rate = sum(r.added for r in results) / (time.perf_counter() - started)
    started = time.perf_counter()
    sync.sync_mailbox(mailbox)
    return rate, (time.perf_counter() - started) * 1000


def main() -> None:
    seconds = seed()
    listing = timed(lambda: imap.list_folder(MAILBOX, "INBOX", 1, 50), RUNS)
    page = imap.list_folder(MAILBOX, "INBOX", 1, 50)
    uid = page.envelopes[0].uid
    opening = timed(lambda: imap.fetch_message(MAILBOX, "INBOX", uid), RUNS)
    raw_rate = raw_fetch_rate()
    sync_rate, resync_ms = sync_rates()
    print(
        json.dumps(
            {
                "messages": page.total,
                "seed_append_msgs_per_s": round(COUNT / seconds, 1),
                "imap_list_first_page_p50_ms": round(statistics.median(listing), 1),
                "imap_list_first_page_p95_ms": round(p95(listing), 1),
                "imap_open_message_p95_ms": round(p95(opening), 1),
                "sync_msgs_per_s": round(sync_rate, 1),
                "raw_fetch_msgs_per_s": round(raw_rate, 1),
                f"resync_nochange_ms_{COUNT // 1000}k": round(resync_ms, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
