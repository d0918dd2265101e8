"""A bounded load test on loopback (issue 17): LOAD_USERS logged-in people (100) for
LOAD_SECONDS (120) against the processes of the reference deployment (deploy/), started here:
gunicorn with 4 sync workers (pages), the events server (uvicorn on webmail.asgi: one
Server-Sent Events stream per open tab), a Celery worker and the IDLE watcher, on this
machine's 2 cores, the operator (Dovecot + Postfix) beside them.

Every person has the same shared mailbox open (1,000 messages, read by delegation): they
look at its list (page 1, sometimes a page further), open a message (and its body frame)
after thinking 1 to 4 s, and so on; all the while their tab's event stream is open and, told
the mailbox changed, they fetch the list's redraw as the page does (`changes`). A new message
arrives through Postfix every LOAD_MAIL_EVERY seconds (10).

Client side (an asyncio client: its own cost is small beside the server's), printed as one
JSON object: load_users, load_rps, load_p95_ms (target <= 300), load_p50_ms, load_errors
(target 0), load_web_rss_mib (the largest gunicorn worker at the end), and how many list
redraws the people fetched per delivered message (load_redraws_per_mail, about one per
person) and in all (load_redraws): opening a message must not make everyone else's list
redraw, so the redraws follow the new mail, not the openings.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.urls import reverse  # noqa: E402

from benchmarks.common import logged_in  # noqa: E402
from benchmarks.mailbox_cache import LITTLE, free_port, rss_mib, seed, templates  # noqa: E402
from mailboxes.mailcache import live, sync  # noqa: E402
from mailboxes.models import Delegation, Folder, Mailbox, User  # noqa: E402
from webmail.demo import messages  # noqa: E402

USERS = int(os.environ.get("LOAD_USERS", "100"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "120"))
MAIL_EVERY = float(os.environ.get("LOAD_MAIL_EVERY", "10"))
SPREAD = 0.6  # seconds: the page asks for its redraw at random within this (static/js/live.js)
ROOT = Path(__file__).resolve().parent.parent
ROW_LINK = re.compile(rb'href="([^"]*message/\d+/\?folder=INBOX)"')
FRAME = re.compile(rb'<iframe[^>]* src="([^"]+)"')


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.redraws = 0
        self.delivered = 0


def request(path: str, cookie: str, header: str) -> bytes:
    """An HTTP/1.1 GET as a logged-in browser sends it, with one more header line."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={cookie}\r\n{header}\r\n\r\n"
    ).encode()


async def get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    """One HTTP/1.1 GET on a new connection (gunicorn's sync workers close each one)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request(path, cookie, "Connection: close"))
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


async def timed(stats: Stats, port: int, path: str, cookie: str) -> bytes:
    started = time.perf_counter()
    try:
        status, body = await asyncio.wait_for(get(port, path, cookie), 30)
    except (OSError, TimeoutError) as exc:
        stats.errors.append(f"{path}: {type(exc).__name__}")
        return b""
    stats.latencies.append((time.perf_counter() - started) * 1000)
    if status not in (200, 204):
        stats.errors.append(f"{path}: {status}")
    return body.replace(b"&amp;", b"&")


async def stream(
    stats: Stats, events_port: int, web_port: int, mailbox: Mailbox, cookie: str, end: float
) -> None:
    """The tab's event stream: each `changed` makes the page fetch its redraw."""
    version = live.version(mailbox.pk)
    changes = reverse("mail-changes", args=[mailbox.pk]) + "?folder=INBOX&v="
    path = reverse("mail-events", args=[mailbox.pk]) + f"?folder=INBOX&v={version}"
    while time.monotonic() < end:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", events_port)
        except OSError as exc:
            stats.errors.append(f"events: {type(exc).__name__}")
            await asyncio.sleep(1)
            continue
        try:
            writer.write(request(path, cookie, "Accept: text/event-stream"))
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                stats.errors.append(f"events: {status.strip().decode(errors='replace')}")
                return
            event = ""
            while time.monotonic() < end:
                line = await asyncio.wait_for(reader.readline(), max(0.1, end - time.monotonic()))
                if not line:
                    break  # the server ended the stream: reconnect, as EventSource does
                if line.startswith(b"id: "):
                    version = int(line[4:])
                elif line.startswith(b"event: "):
                    event = line[7:].strip().decode()
                elif line in (b"\n", b"\r\n") and event == "changed":
                    stats.redraws += 1
                    await asyncio.sleep(random.uniform(0, SPREAD))  # as static/js/live.js
                    await timed(stats, web_port, f"{changes}{version}", cookie)
                    event = ""
        except TimeoutError:
            pass
        finally:
            writer.close()


async def person(
    stats: Stats, web_port: int, events_port: int, mailbox: Mailbox, cookie: str, end: float
) -> None:
    picker = random.Random(cookie)
    listing = reverse("mail-folder", args=[mailbox.pk])
    await asyncio.sleep(picker.uniform(0, 4))  # tabs opened over a few seconds, as people do
    watching = asyncio.create_task(stream(stats, events_port, web_port, mailbox, cookie, end))
    while time.monotonic() < end:
        page = "" if picker.random() < 0.8 else f"&page={picker.randrange(2, 20)}"
        body = await timed(stats, web_port, f"{listing}?folder=INBOX{page}", cookie)
        await asyncio.sleep(picker.uniform(1, 4))
        links = ROW_LINK.findall(body)
        if links and time.monotonic() < end:
            opened = await timed(stats, web_port, picker.choice(links).decode(), cookie)
            if frame := FRAME.search(opened):
                await timed(stats, web_port, frame.group(1).decode(), cookie)
            await asyncio.sleep(picker.uniform(1, 4))
    await watching


async def new_mail(stats: Stats, mailbox: Mailbox, end: float) -> None:
    port = int(os.environ["OPERATOR_MX_PORT"])
    while time.monotonic() + MAIL_EVERY < end:
        await asyncio.sleep(MAIL_EVERY)
        msg = EmailMessage()
        msg["From"], msg["To"] = messages.MARIE, mailbox.address
        msg["Subject"], msg["Message-ID"] = "Nouveau résultat", f"<{uuid.uuid4()}@load.test>"
        msg.set_content("Arrivé pendant la charge.")
        await asyncio.to_thread(lambda m=msg: smtplib.SMTP("127.0.0.1", port).send_message(m))
        stats.delivered += 1


def start(command: list[str], name: str) -> subprocess.Popen[bytes]:
    log = open(Path(tempfile.gettempdir()) / f"bench-load-{name}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_listening(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{name} did not start: see {tempfile.gettempdir()}/bench-load-{name}.log")
            time.sleep(0.2)


def main() -> None:
    call_command("migrate", verbosity=0)
    base = int(os.environ.get("BENCH_WEB_PORT", "33090")) + 2
    web_port, events_port = free_port(base), free_port(base + 1)
    owner, _ = User.objects.get_or_create(
        username="bench", defaults={"subject_name_id": "899700000001"}
    )
    mailbox, _ = Mailbox.objects.get_or_create(
        address=LITTLE, defaults={"kind": "PER", "owner": owner}
    )
    if not Folder.objects.filter(mailbox=mailbox, name="INBOX", messages__gte=1000).exists():
        seed(LITTLE, 1000, templates())
    sync.sync_mailbox(mailbox)
    people = []
    for n in range(USERS):
        user, _ = User.objects.get_or_create(
            username=f"load{n}", defaults={"subject_name_id": f"8998{n:08d}", "first_name": f"P{n}"}
        )
        Delegation.objects.get_or_create(person=user, mailbox=mailbox, defaults={"role": "reader"})
        people.append(logged_in(user).cookies["sessionid"].value)
    py = sys.executable
    processes = {
        "web": start(
            [
                py,
                "-m",
                "gunicorn",
                "webmail.wsgi",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "4",
                "--log-level",
                "warning",
            ],
            "web",
        ),
        "events": start(
            [
                py,
                "-m",
                "uvicorn",
                "webmail.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(events_port),
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "5",
            ],
            "events",
        ),
        "worker": start(
            [
                py,
                "-m",
                "celery",
                "-A",
                "webmail",
                "worker",
                "-c",
                "2",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
            ],
            "worker",
        ),
        "watcher": start([py, "manage.py", "watch_mailboxes"], "watcher"),
    }
    try:
        wait_listening(web_port, processes["web"], "web")
        wait_listening(events_port, processes["events"], "events")
        stats = Stats()

        async def run() -> float:
            end = time.monotonic() + SECONDS
            started = time.perf_counter()
            await asyncio.gather(
                new_mail(stats, mailbox, end),
                *(person(stats, web_port, events_port, mailbox, c, end) for c in people),
            )
            return time.perf_counter() - started

        elapsed = asyncio.run(run())
        children = Path(f"/proc/{processes['web'].pid}/task/{processes['web'].pid}/children")
        web_rss = max(rss_mib(int(pid)) for pid in children.read_text().split())
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)
    samples = stats.latencies
    print(" ".join(sorted(set(stats.errors))[:10]), file=sys.stderr)
    print(
        json.dumps(
            {
                "load_users": USERS,
                "load_seconds": SECONDS,
                "load_requests": len(samples),
                "load_rps": round(len(samples) / elapsed, 1),
                "load_p50_ms": round(statistics.median(samples), 1),
                "load_p95_ms": round(statistics.quantiles(samples, n=20)[-1], 1),
                "load_errors": len(stats.errors),
                "load_web_rss_mib": round(web_rss, 1),
                "load_mail_delivered": stats.delivered,
                "load_redraws": stats.redraws,
                "load_redraws_per_mail": round(stats.redraws / max(stats.delivered, 1), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
