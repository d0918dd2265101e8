"""Inbox listing and message opening, straight from IMAP (today's hot path).

Seeds a mailbox of N messages by IMAP APPEND, then times list_folder (first page) and
fetch_message. Prints one JSON object. Run through scripts/bench.sh.
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

from django.utils import timezone  # noqa: E402

from mailboxes.models import Mailbox  # noqa: E402
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


def main() -> None:
    seconds = seed()
    listing = timed(lambda: imap.list_folder(MAILBOX, "INBOX", 1, 50), RUNS)
    page = imap.list_folder(MAILBOX, "INBOX", 1, 50)
    uid = page.envelopes[0].uid
    opening = timed(lambda: imap.fetch_message(MAILBOX, "INBOX", uid), RUNS)
    print(
        json.dumps(
            {
                "messages": page.total,
                "seed_append_msgs_per_s": round(COUNT / seconds, 1),
                "imap_list_first_page_p50_ms": round(statistics.median(listing), 1),
                "imap_list_first_page_p95_ms": round(p95(listing), 1),
                "imap_open_message_p95_ms": round(p95(opening), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
