"""The triage lists on a big cache: 100,000 messages in 20 shared mailboxes (BENCH_MESSAGES),
three messages a conversation, a tenth of the conversations assigned to the person measured,
another tenth to a colleague, a third of all done. Measures, through the views (access,
queries, template), p95 over BENCH_RUNS:
- triage_assigned_to_me_p95_ms: "Assigné à moi" across the 20 mailboxes (target <= 50 ms);
- triage_assigned_to_me_uncached_p95_ms: the same page drawn anew each time (its rows are
  cached rendered until something they show changes: here the person's read state moves);
- triage_unassigned_p95_ms: one mailbox's "Non assigné", its sidebar counts included.
Seeds the database directly (no operator needed: these pages never reach it). Prints one
JSON object. Run through scripts/bench.sh (BENCH_ONLY=triage_assigned_to_me_p95_ms).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.common import logged_in  # noqa: E402
from mailboxes.mailcache import live  # noqa: E402
from mailboxes.models import Delegation, Folder, Mailbox, MessageIndex, Structure, User  # noqa: E402
from triage import queries  # noqa: E402
from triage.models import Conversation  # noqa: E402

COUNT = int(os.environ.get("BENCH_MESSAGES", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
MAILBOXES = 20
PER_THREAD = 3


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def timed(
    url: str, client: Client, runs: int = RUNS, before: Callable[[], object] | None = None
) -> list[float]:
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        answer = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.status_code
    return samples


def seed_mailbox(mailbox: Mailbox, count: int, start: int) -> None:
    folder = Folder.objects.create(mailbox=mailbox, name="INBOX", uidvalidity=1, messages=count)
    now = timezone.now()
    rows = [
        MessageIndex(
            folder=folder,
            uid=i + 1,
            message_id=f"<t{start + i}@bench.test>",
            thread_key=f"<t{start + i - i % PER_THREAD}@bench.test>",
            date=now - timedelta(minutes=count - i),
            sender_name="Dr Bench",
            sender_address="dr@hopital-c.mssante.test",
            subject=f"Compte rendu {start + i}",
            preview="Bonjour, voici le compte rendu.",
        )
        for i in range(count)
    ]
    MessageIndex.objects.bulk_create(rows, batch_size=5000)
    queries.backfill(mailbox)


def seed() -> tuple[User, list[Mailbox]]:
    me = User.objects.create_user("bench-triage", subject_name_id="899700000101")
    colleague = User.objects.create_user("bench-colleague", subject_name_id="899700000102")
    structure = Structure.objects.create(name="Bench", kind="pharmacy")
    mailboxes = []
    per_mailbox = COUNT // MAILBOXES
    for n in range(MAILBOXES):
        mailbox = Mailbox.objects.create(
            address=f"bench-triage-{n}@operateur-a.mssante.test", kind="ORG", structure=structure
        )
        for person in (me, colleague):
            Delegation.objects.create(person=person, mailbox=mailbox, role="sender")
        seed_mailbox(mailbox, per_mailbox, n * per_mailbox)
        mailboxes.append(mailbox)
    conversations = list(Conversation.objects.values_list("pk", flat=True))
    mine = [pk for i, pk in enumerate(conversations) if i % 10 == 0]
    theirs = [pk for i, pk in enumerate(conversations) if i % 10 == 1]
    Conversation.objects.filter(pk__in=mine).update(assignee=me, status="open")
    Conversation.objects.filter(pk__in=theirs).update(assignee=colleague, status="open")
    done = [pk for i, pk in enumerate(conversations) if i % 3 == 0]
    Conversation.objects.filter(pk__in=done).update(status="done")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return me, mailboxes


def main() -> None:
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    me, mailboxes = seed()
    seeded = time.perf_counter() - started
    client = logged_in(me)
    mine_url = reverse("triage-mine")
    page = client.get(mine_url).content.decode()
    assert page.count("<tr") > 50, "a full page of conversations"
    mine = timed(mine_url, client)
    moved = f"webmail:triage:read:{me.pk}"  # as when the person opens a conversation
    uncached = timed(mine_url, client, before=lambda: live.client().incr(moved))
    unassigned_url = reverse("triage-list", args=[mailboxes[0].pk]) + "?view=unassigned"
    client.get(unassigned_url)  # its first opening checks the backfill: not a measure
    unassigned = timed(unassigned_url, client)
    print(
        json.dumps(
            {
                "triage_messages": MessageIndex.objects.filter(
                    folder__mailbox__in=mailboxes
                ).count(),
                "triage_conversations": Conversation.objects.count(),
                "triage_seed_s": round(seeded, 1),
                "triage_assigned_to_me_p50_ms": round(statistics.median(mine), 1),
                "triage_assigned_to_me_p95_ms": round(p95(mine), 1),
                "triage_assigned_to_me_uncached_p95_ms": round(p95(uncached), 1),
                "triage_unassigned_p95_ms": round(p95(unassigned), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
