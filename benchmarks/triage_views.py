"""The triage lists on a big cache: 100,000 messages in 20 shared mailboxes (BENCH_MESSAGES),
three messages a conversation, a tenth of the conversations assigned to the person measured,
another tenth to a colleague, a third of all done. Measures, through the views (access,
queries, template), p95 over BENCH_RUNS:
- triage_assigned_to_me_p95_ms: "Assigné à moi" across the 20 mailboxes (target <= 50 ms);
- triage_assigned_to_me_uncached_p95_ms: the same page drawn anew each time (its rows are
  cached rendered until something they show changes: here the person's read state moves);
- triage_unassigned_p95_ms: one mailbox's "Non assigné", its sidebar counts included.
And what an idle open conversation costs the servers (its live panel: who else is there, the
state), measured as benchmarks/push.py measures an idle list (the deployed servers started
from their units' commands, CPU time of their processes minus the same processes idle,
divided among BENCH_IDLE_TABS tabs each on a conversation of its own mailbox):
- idle_triage_tab_server_ms_per_min: the tab now: the mailbox's event stream (its heartbeats,
  its reconnection every WEBMAIL_EVENTS_MAX_SECONDS amortised) and the panel's presence
  heartbeat every triage.presence.HEARTBEAT_SECONDS (answered 204), over whole periods;
- idle_triage_tab_poll_server_ms_per_min: the same tab as it was, its panel asked every 2 s;
- idle_triage_tab_requests_per_min, idle_triage_tab_poll_requests_per_min: the requests
  each made a minute (a stream's opening counts as one).
Seeds the database directly (no operator needed: these pages never reach it). Prints one
JSON object. Run through scripts/bench.sh (BENCH_ONLY=triage_assigned_to_me_p95_ms; the idle
tab alone: BENCH_ONLY=idle_triage_tab_server_ms_per_min, the list measures skipped).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

import django

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks import push  # noqa: E402
from benchmarks.common import logged_in  # noqa: E402
from mailboxes.mailcache import live  # noqa: E402
from mailboxes.models import Delegation, Folder, Mailbox, MessageIndex, Structure, User  # noqa: E402
from triage import presence, queries  # noqa: E402
from triage.models import Conversation  # noqa: E402

COUNT = int(os.environ.get("BENCH_MESSAGES", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
MAILBOXES = 20
PER_THREAD = 3
IDLE_ONLY = os.environ.get("BENCH_ONLY", "").startswith("idle_triage")
EVENTS_PORT, WEB_PORT = push.PORT_BASE + 812, push.PORT_BASE + 813  # beside push.py's
POLL_SECONDS = 2  # what the panel's `hx-trigger="every 2s"` asked


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


class Panel:
    """An open conversation's live panel, as static/js/triage_live.js asks it: drawn once,
    then asked with what it shows (204: nothing changed)."""

    def __init__(self, mailbox: Mailbox, thread_key: str, cookie: str) -> None:
        self.http = requests.Session()
        self.http.cookies.set(settings.SESSION_COOKIE_NAME, cookie)
        path = reverse("triage-live", args=[mailbox.pk])
        first = self.http.get(web(path), params={"thread": thread_key}, timeout=10)
        first.raise_for_status()
        found = re.search(r'data-live="([^"]+)"', first.text)
        if found is None:
            raise SystemExit("the live panel has no data-live")
        self.url = web(found.group(1).replace("&amp;", "&"))
        self.asked = 0

    def ask(self) -> None:
        answer = self.http.get(self.url, timeout=10)
        if answer.status_code != 204:
            raise SystemExit(f"the idle panel answered {answer.status_code}")
        self.asked += 1

    def every(self, seconds: float, stop: threading.Event) -> None:
        while not stop.wait(seconds):
            self.ask()


def web(path: str) -> str:
    return f"http://127.0.0.1:{WEB_PORT}{path}"


def stream(mailbox: Mailbox, cookie: str) -> push.Tab:
    path = reverse("mail-events", args=[mailbox.pk])
    return push.Tab(f"http://127.0.0.1:{EVENTS_PORT}{path}", cookie, live.version(mailbox.pk))


def cpu_ms(pids: tuple[int, ...]) -> float:
    return sum(push.cpu_ns(pid) for pid in pids) / 1e6


def asking(
    panels: list[Panel], every: float, pids: tuple[int, ...], seconds: float, lag: float = 0
) -> float:
    """Milliseconds of CPU the servers spent over `seconds`, from `lag` seconds after each
    panel began asking every `every` s (a lag of half a period: no ask at either edge)."""
    stop = threading.Event()
    threads = [threading.Thread(target=p.every, args=(every, stop), daemon=True) for p in panels]
    for thread in threads:
        thread.start()
    time.sleep(lag)
    before = cpu_ms(pids)
    time.sleep(seconds)
    spent = cpu_ms(pids) - before
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    return spent


def idle_tab(me: User, mailboxes: list[Mailbox]) -> dict[str, float]:
    """An idle conversation tab per mailbox, now (event stream + slow heartbeat) and as it
    was (its panel asked every 2 s), on the deployed servers: ms and requests a minute."""
    cookie = logged_in(me).cookies[settings.SESSION_COOKIE_NAME].value
    threads = [
        Conversation.objects.filter(mailbox=m).order_by("pk").values_list("thread_key", flat=True)[0]
        for m in mailboxes
    ]  # fmt: skip
    events_argv = push.unit_command(
        "webmail-events.service", **{"--port 8001": f"--port {EVENTS_PORT}"}
    )
    web_argv = push.unit_command(
        "webmail-web.service",
        **{"127.0.0.1:8000": f"127.0.0.1:{WEB_PORT}", "--workers 4": "--workers 1"},
    )
    beat, seconds = presence.HEARTBEAT_SECONDS, push.SECONDS
    with push.served(events_argv, EVENTS_PORT) as events, push.served(web_argv, WEB_PORT) as gun:
        pids = (events.pid, gun.pid)
        panels = [Panel(m, t, cookie) for m, t in zip(mailboxes, threads, strict=True)]
        stream(mailboxes[0], cookie).close()  # warm up: code loaded, connections made
        for panel in panels[:3]:
            panel.ask()
        time.sleep(2)
        idle = asking([], 1, pids, seconds) / seconds  # no tab: both servers, ms a second
        # Now: each tab's stream opens and its panel asks once (as on every opening), ...
        started, before = time.monotonic(), cpu_ms(pids)
        tabs = [stream(m, cookie) for m in mailboxes]
        for panel in panels:
            panel.ask()
        opening = (cpu_ms(pids) - before - idle * (time.monotonic() - started)) / len(tabs)
        # ... then idles over whole heartbeat periods: the stream's and the panel's, both
        # beating every 25 s from now on (the streams from their opening, just made).
        window = max(1, round(seconds / beat)) * beat
        asked = sum(p.asked for p in panels)
        spent = asking(panels, beat, pids, window, lag=beat / 2)
        now = (spent - idle * window) * 60 / window / len(tabs)
        beats = (sum(p.asked for p in panels) - asked) * 60 / window / len(tabs)
        for tab in tabs:
            tab.close()
        # As it was: no stream, the panel asked every 2 s.
        asked = sum(p.asked for p in panels)
        spent = asking(panels, POLL_SECONDS, pids, seconds, lag=POLL_SECONDS / 2)
        polled = (spent - idle * seconds) * 60 / seconds
        polls = (sum(p.asked for p in panels) - asked) * 60 / seconds / len(panels)
    reconnects = 60 / settings.WEBMAIL_EVENTS_MAX_SECONDS  # a minute; each an opening, an ask
    return {
        "idle_triage_tab_server_ms_per_min": round(now + opening * reconnects, 2),
        "idle_triage_tab_poll_server_ms_per_min": round(polled / len(panels), 1),
        "idle_triage_tab_requests_per_min": round(beats + 2 * reconnects, 2),
        "idle_triage_tab_poll_requests_per_min": round(polls, 1),
        "idle_triage_tab_opening_server_ms": round(opening, 1),
    }


def main() -> None:
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    me, mailboxes = seed()
    seeded = time.perf_counter() - started
    if IDLE_ONLY:
        print(json.dumps(idle_tab(me, mailboxes)))
        return
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
                **idle_tab(me, mailboxes),
            }
        )
    )


if __name__ == "__main__":
    main()
