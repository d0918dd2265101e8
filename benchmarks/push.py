"""What one idle open tab costs the server, with the list's event stream (webmail/push.py) and
with the 2-second poll it replaced; and how soon the tab hears of a change. The servers are
the deployed ones, started from their units' commands (deploy/systemd): uvicorn on
webmail.asgi for the stream, gunicorn (one sync worker) for the poll. Server time is the CPU
time of the server's process(es), every thread, read from /proc/PID/task/*/schedstat
(nanoseconds), minus the same process idle with no tab over the same length of time, divided
among BENCH_IDLE_TABS tabs (default 20) open at once, each on its own mailbox.
- idle_tab_server_ms_per_min: one tab connected, idle (heartbeats, which also keep the
  mailbox watched and synced), per minute; its reconnection every WEBMAIL_EVENTS_MAX_SECONDS
  is counted in, amortised (target <= 10);
- idle_tab_poll_server_ms_per_min: the same tab as before push, `changes` every 2 s (204);
- push_connect_server_ms: one stream's opening (session, access check, subscription);
- events_server_idle_ms_per_min: the events server with no tab at all (uvicorn's own clock);
- push_new_mail_ms_p95: a mailbox's version bumped (a sync's end) -> the `changed` event read
  by the client, p95 over BENCH_PUSH_RUNS (target: well under the 2 s the poll allowed).
BENCH_IDLE_SECONDS (default 60) is each measured period. Ports BENCH_PORT_BASE+810 and +811.
Prints one JSON object. Run through scripts/bench.sh (BENCH_ONLY=idle_tab_server_ms_per_min).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.urls import reverse  # noqa: E402

from benchmarks.common import logged_in  # noqa: E402
from mailboxes.mailcache import live  # noqa: E402
from mailboxes.models import Folder, Mailbox, User  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "60"))
RUNS = int(os.environ.get("BENCH_PUSH_RUNS", "30"))
# Idle tabs measured at once, each on its own mailbox, their cost divided among them: one
# tab's few milliseconds a minute would be lost in the server's own idle noise.
TABS = int(os.environ.get("BENCH_IDLE_TABS", "20"))
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "33000"))
EVENTS_PORT, WEB_PORT = PORT_BASE + 810, PORT_BASE + 811
HEARTBEAT = settings.WEBMAIL_EVENTS_HEARTBEAT_SECONDS  # the servers' too: the same settings


def unit_command(name: str, **replace: str) -> list[str]:
    """A unit's ExecStart, run from this checkout's virtual environment."""
    text = (REPO / "deploy" / "systemd" / name).read_text(encoding="utf-8")
    [command] = [
        line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStart=")
    ]
    command = command.replace("/opt/webmail/.venv/bin/", f"{Path(sys.executable).parent}/")
    for old, new in replace.items():
        command = command.replace(old, new)
    return shlex.split(command)


def taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def served(argv: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    if taken(port):
        raise SystemExit(f"port {port} is taken: set BENCH_PORT_BASE to run beside it")
    server = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"{argv[0]} did not start: {server.stderr.read().decode()[-2000:]}"
                )  # type: ignore[union-attr]
            time.sleep(0.2)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz/live", timeout=2).ok
    except requests.ConnectionError:
        return False


def processes(pid: int) -> list[int]:
    """The process and its children (gunicorn's workers)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [child for text in children for child in processes(int(text))]
    return found


def cpu_ns(pid: int) -> int:
    """CPU time so far of every thread of the process and its children, in nanoseconds."""
    total = 0
    for each in processes(pid):
        for task in Path(f"/proc/{each}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue  # a thread that just ended
    return total


def spent(pid: int, seconds: float) -> float:
    """Milliseconds of CPU the server used while we slept `seconds`."""
    before = cpu_ns(pid)
    time.sleep(seconds)
    return (cpu_ns(pid) - before) / 1e6


class Tab:
    """An open list's EventSource: the frames it reads, with when each came."""

    def __init__(self, url: str, cookie: str, seen: int) -> None:
        self.answer = requests.get(
            url,
            cookies={settings.SESSION_COOKIE_NAME: cookie},
            headers={"Last-Event-ID": str(seen)},
            stream=True,
            timeout=(5, 120),
        )
        self.answer.raise_for_status()
        self.changed: dict[int, float] = {}
        self.frames = 0
        self.opened = threading.Event()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        if not self.opened.wait(10):
            raise SystemExit("the event stream sent nothing")

    def read(self) -> None:
        buffer = b""
        try:
            for chunk in self.answer.iter_content(chunk_size=None):
                buffer += chunk
                while b"\n\n" in buffer:
                    frame, buffer = buffer.split(b"\n\n", 1)
                    self.take(frame.decode(), time.perf_counter())
        except (requests.RequestException, OSError, AttributeError):
            return  # closed by us

    def take(self, frame: str, when: float) -> None:
        self.frames += 1
        self.opened.set()
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if fields.get("event") == "changed":
            self.changed[int(fields["id"])] = when

    def close(self) -> None:
        self.answer.close()


def bump_latencies(tab: Tab, mailbox: Mailbox, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        version = live.bump(mailbox.pk)
        deadline = started + 5
        while version not in tab.changed and time.perf_counter() < deadline:
            time.sleep(0.0005)
        if version not in tab.changed:
            raise SystemExit(f"version {version} never reached the tab")
        samples.append((tab.changed[version] - started) * 1000)
        time.sleep(0.1)
    return samples


def poll(url: str, cookies: dict[str, str], stop: threading.Event) -> None:
    """A list as it was: `changes` every 2 s (what htmx's `every 2s` sent)."""
    with requests.Session() as http:
        http.cookies.update(cookies)
        while not stop.wait(2):
            answer = http.get(url, timeout=10)
            if answer.status_code != 204:
                raise SystemExit(f"the poll answered {answer.status_code}")


def seed() -> tuple[User, list[Mailbox]]:
    """The person, with one mailbox per tab (each tab keeps its own mailbox fresh)."""
    user, _ = User.objects.get_or_create(
        username="bench.push", defaults={"subject_name_id": "810099990001"}
    )
    mailboxes = []
    for n in range(TABS):
        mailbox, _ = Mailbox.objects.get_or_create(
            address=f"bench.push.{n}@operateur-a.mssante.test",
            defaults={"kind": Mailbox.Kind.PERSONAL, "owner": user},
        )
        Folder.objects.get_or_create(mailbox=mailbox, name="INBOX", defaults={"uidvalidity": 1})
        mailboxes.append(mailbox)
    return user, mailboxes


def open_tabs(cookie: str, mailboxes: list[Mailbox]) -> list[Tab]:
    return [Tab(events_url(mailbox), cookie, live.version(mailbox.pk)) for mailbox in mailboxes]


def events_url(mailbox: Mailbox) -> str:
    return f"http://127.0.0.1:{EVENTS_PORT}{reverse('mail-events', args=[mailbox.pk])}"


def changes_url(mailbox: Mailbox) -> str:
    path = reverse("mail-changes", args=[mailbox.pk])
    return f"http://127.0.0.1:{WEB_PORT}{path}?folder=INBOX&v={live.version(mailbox.pk)}"


def main() -> None:
    call_command("migrate", verbosity=0)
    user, mailboxes = seed()
    cookie = logged_in(user).cookies[settings.SESSION_COOKIE_NAME].value
    events_argv = unit_command("webmail-events.service", **{"--port 8001": f"--port {EVENTS_PORT}"})
    web_argv = unit_command(
        "webmail-web.service",
        **{"127.0.0.1:8000": f"127.0.0.1:{WEB_PORT}", "--workers 4": "--workers 1"},
    )
    with served(events_argv, EVENTS_PORT) as events, served(web_argv, WEB_PORT) as web:
        # Warm up (code loaded, connections made): not what an idle tab costs.
        warm = Tab(events_url(mailboxes[0]), cookie, live.version(mailboxes[0].pk))
        bump_latencies(warm, mailboxes[0], 3)
        warm.close()
        for mailbox in mailboxes[:3]:
            requests.get(
                changes_url(mailbox), cookies={settings.SESSION_COOKIE_NAME: cookie}, timeout=10
            )
        time.sleep(2)
        # No tab: both servers idle over the same period (ms of CPU per second).
        base_events, base_web = cpu_ns(events.pid), cpu_ns(web.pid)
        time.sleep(SECONDS)
        idle_events = (cpu_ns(events.pid) - base_events) / 1e6 / SECONDS
        idle_web = (cpu_ns(web.pid) - base_web) / 1e6 / SECONDS
        # The tabs open their streams (the cost of an opening), and pass their first heartbeat
        # (its first sync request warms the broker's connection up).
        before, opened_at = cpu_ns(events.pid), time.monotonic()
        tabs = open_tabs(cookie, mailboxes)
        time.sleep(0.5)
        connect = ((cpu_ns(events.pid) - before) / 1e6 - idle_events * 0.5) / TABS
        time.sleep(max(opened_at + HEARTBEAT + 1 - time.monotonic(), 0))
        # Then idle over whole heartbeat periods, each holding one heartbeat per tab.
        frames = sum(tab.frames for tab in tabs)
        window = max(1, round(SECONDS / HEARTBEAT)) * HEARTBEAT
        pushed = (spent(events.pid, window) - idle_events * window) * 60 / window / TABS
        heartbeats = (sum(tab.frames for tab in tabs) - frames) / TABS
        latencies = bump_latencies(tabs[0], mailboxes[0], RUNS)
        for tab in tabs:
            tab.close()
        # The same tabs, as they were: a poll every 2 s each.
        stop = threading.Event()
        cookies = {settings.SESSION_COOKIE_NAME: cookie}
        pollers = [
            threading.Thread(target=poll, args=(changes_url(m), cookies, stop), daemon=True)
            for m in mailboxes
        ]
        for poller in pollers:
            poller.start()
        polled = (spent(web.pid, SECONDS) - idle_web * SECONDS) * 60 / SECONDS / TABS
        stop.set()
        for poller in pollers:
            poller.join(timeout=15)
    reconnects_per_minute = 60 / settings.WEBMAIL_EVENTS_MAX_SECONDS
    print(
        json.dumps(
            {
                "idle_tab_server_ms_per_min": round(pushed + connect * reconnects_per_minute, 2),
                "idle_tab_poll_server_ms_per_min": round(polled, 1),
                "push_connect_server_ms": round(connect, 1),
                "push_heartbeats_per_tab_measured": heartbeats,
                "events_server_idle_ms_per_min": round(idle_events * 60, 1),
                "push_new_mail_ms_p50": round(statistics.median(latencies), 2),
                "push_new_mail_ms_p95": round(statistics.quantiles(latencies, n=20)[-1], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
