"""Faults, for real (issue 17): a Celery worker killed (kill -9) mid-send and mid-sync, Postfix
down, the broker (a private redis-server) restarted without its data, Dovecot killed mid-sync
and under the IDLE watcher. Afterwards: every message the site calls sent arrived exactly once
and none twice (counted per Message-ID in the recipient's mailbox), no outbox row is left
queued or sending once the sweep ran, the cache equals IMAP (UIDs and flags of every folder),
and the watcher is back, new mail shown within seconds.

The worker and the watcher are the deploy/systemd units' own commands, in processes of their
own (killed whole); this process plays the web and beat (the sweep). The sweep's age limits
are reached by ageing the rows, not by waiting a quarter of an hour.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu import pools
from pytest_django import Settings

from mailboxes import queue
from mailboxes.actions import receipts
from mailboxes.mailcache import indexing, live
from mailboxes.models import Folder, Mailbox, MessageIndex, Outgoing, Receipt, SyncState, User
from mailboxes.operator import imap
from mailboxes.tasks import sweep_interrupted_sends
from tests.conftest import OperatorBackend, client_for
from tests.integration.helpers import deliver_to, fresh_mailbox, lmtp_deliver, wait_until
from tests.integration.processes import PrivateRedis, started, write_credentials
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.django_db(transaction=True)]


# --- The parts: a private broker, the worker and watcher processes, fresh mailboxes --------


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    args = os.environ["OPERATOR_BACKEND_ARGS"].split()
    port = int(args[args.index("--port-base") + 1]) + 900  # this test instance's own range
    server = PrivateRedis(port, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(private_redis: PrivateRedis, settings: Settings) -> Iterator[PrivateRedis]:
    """This process queues its work on the private Redis too, and takes its locks there (the
    broker's Redis, as deployed); the suite's own broker is left alone."""
    settings.CELERY_BROKER_URL = settings.LOCKS_REDIS_URL = private_redis.url
    previous = celery_app.conf.broker_url
    _use_broker(private_redis.url)
    yield private_redis
    _use_broker(previous)


def _use_broker(url: str) -> None:
    pools.reset()  # kombu's process-wide connection pools, the app's among them
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    conf = celery_app.conf
    conf.broker_url = conf.broker_write_url = conf.broker_read_url = url  # resolved at setup


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    return write_credentials(tmp_path / "credentials")


class Processes:
    """Starts the units' commands against the private broker; `kill` is kill -9, whole."""

    def __init__(self, broker: PrivateRedis, credentials: Path, folder: Path) -> None:
        self.broker, self.credentials, self.folder = broker, credentials, folder
        self.running: list[tuple[subprocess.Popen[bytes], object]] = []
        self.env = {
            "CELERY_BROKER_URL": broker.url,
            "LOCKS_REDIS_URL": broker.url,
            "WEBMAIL_SYNC_LOCK_SECONDS": "3",
            "WEBMAIL_SEND_RETRY_SECONDS": "1",
        }

    def _start(self, unit: str, **replace: str) -> subprocess.Popen[bytes]:
        context = started(unit, self.credentials, self.folder, self.env, **replace)
        process = context.__enter__()
        self.running.append((process, context))
        return process

    def worker(self) -> subprocess.Popen[bytes]:
        """A worker of every queue (the send unit's command), ready when this returns."""
        log = self.folder / "webmail-worker-send.service.log"
        before = log.read_text().count(" ready.") if log.exists() else 0
        process = self._start(
            "webmail-worker-send.service",
            **{"-Q send": "-Q send,sync,celery", "%H": f"fault{len(self.running)}"},
        )
        wait_until(lambda: log.read_text().count(" ready.") > before, seconds=60)
        return process

    def watcher(self) -> subprocess.Popen[bytes]:
        env = {**self.env, "WEBMAIL_WATCHERS": "1", "WEBMAIL_LOG_FORMAT": "json"}
        context = started(
            "webmail-watcher@.service", self.credentials, self.folder, env, **{"%i": "0"}
        )
        process = context.__enter__()
        self.running.append((process, context))
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def close(self) -> None:
        for process, context in reversed(self.running):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            context.__exit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture
def processes(broker: PrivateRedis, credentials: Path, tmp_path: Path) -> Iterator[Processes]:
    running = Processes(broker, credentials, tmp_path)
    yield running
    running.close()


NewMailbox = Callable[[str], Mailbox]


@pytest.fixture
def new_mailbox(operator_backend: OperatorBackend) -> NewMailbox:
    return lambda prefix: fresh_mailbox(operator_backend, prefix)


def fill(operator_backend: OperatorBackend, mailbox: Mailbox, count: int) -> None:
    """`count` messages straight into the mailbox's Maildir (a few seconds of first sync),
    some read, some flagged, as years of mail would be."""
    local, _, domain = mailbox.address.partition("@")
    home = operator_backend.root / "mail" / domain / local
    maildir = home / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    stamp = int(time.time())
    for n in range(count):
        flags = "".join(f for f, every in (("F", 7), ("S", 2)) if n % every == 0)
        body = (
            f"From: Dr Karim BENALI <karim.benali@hopital-c.mssante.test>\r\nTo: {mailbox.address}"
            f"\r\nSubject: Courrier {n}\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\n"
            f"Message-ID: <fill-{n}-{local}@hopital-c.mssante.test>\r\n\r\nCorps {n}\r\n"
        )
        (maildir / "cur" / f"{stamp}.M{n}P1.fault:2,{flags}").write_text(body)
    # Dovecot's own, the domain's folder too when this made it (Dovecot creates the others').
    subprocess.run(["chown", "dovecot:dovecot", str(home.parent)], check=True)
    subprocess.run(["chown", "-R", "dovecot:dovecot", str(home)], check=True)


def json_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def message(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg.set_content("Corps")
    return msg


def server_state(mailbox: Mailbox) -> dict[str, dict[int, dict[str, object]]]:
    """Every folder's UIDs and flags, as the operator has them."""
    state: dict[str, dict[int, dict[str, object]]] = {}
    with imap.imap_session(mailbox) as client:
        for flags, _, name in client.list_folders():
            if b"\\Noselect" in flags:
                continue
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, [b"FLAGS"]) if uids else {}
            state[str(name)] = {
                int(uid): indexing.flag_fields(data[b"FLAGS"]) for uid, data in fetched.items()
            }
    return state


def cache_state(mailbox: Mailbox) -> dict[str, dict[int, dict[str, object]]]:
    state: dict[str, dict[int, dict[str, object]]] = {}
    for folder in Folder.objects.filter(mailbox=mailbox):
        rows = MessageIndex.objects.filter(folder=folder)
        state[folder.name] = {
            row.uid: {"seen": row.seen, "flagged": row.flagged, "answered": row.answered,
                      "keywords": sorted(row.keywords)}
            for row in rows
        }  # fmt: skip
    return state


def cache_equals_imap(mailbox: Mailbox) -> bool:
    return cache_state(mailbox) == server_state(mailbox)


def copies(mailbox: Mailbox, message_id: str) -> int:
    with imap.imap_session(mailbox) as client:
        client.select_folder("INBOX", readonly=True)
        return len(client.search(["HEADER", "Message-ID", message_id]))


def compose(marie: User, mailbox: Mailbox, to: Mailbox, subject: str) -> Outgoing:
    data = {"to": to.address, "subject": subject, "text": "Bonjour.", "request_dsn": "on",
            "from_mailbox": str(mailbox.pk)}  # fmt: skip
    page = client_for(marie).post(reverse("mail-compose", args=[mailbox.pk]), data)
    assert page.status_code == 302, page.content.decode()[:2000]
    return Outgoing.objects.latest("created")


def statuses() -> dict[str, int]:
    rows = Outgoing.objects.values_list("status", flat=True)
    return {status: list(rows).count(status) for status in set(rows)}


def sweep_after_a_while() -> None:
    """The 5-minute sweep, once its age limits are past (rows aged, not waited for)."""
    long_ago = timezone.now() - timedelta(minutes=20)
    Outgoing.objects.filter(status=Outgoing.Status.QUEUED).update(
        created=long_ago, claimed_at=long_ago
    )
    Outgoing.objects.filter(status=Outgoing.Status.SENDING).update(claimed_at=long_ago)
    sweep_interrupted_sends()


def delivered_exactly_once(rcpt: Mailbox) -> None:
    """What the site says was sent arrived once; nothing arrived twice; nothing waits."""
    rows = list(Outgoing.objects.all())
    assert not [o for o in rows if o.status in (Outgoing.Status.QUEUED, Outgoing.Status.SENDING)]
    counts = {o.message_id: copies(rcpt, o.message_id) for o in rows}
    assert all(n <= 1 for n in counts.values()), counts
    for outgoing in rows:
        if outgoing.status == Outgoing.Status.SENT:
            assert counts[outgoing.message_id] == 1, outgoing
        else:  # interrupted before the operator took it: shown as not sent, for a retry
            assert outgoing.error == Outgoing.INTERRUPTED and counts[outgoing.message_id] == 0


# --- The faults ------------------------------------------------------------------------------


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(
    processes: Processes, marie: User, marie_mailbox: Mailbox, new_mailbox: NewMailbox
) -> None:
    rcpt = new_mailbox("envois")
    outgoing = [compose(marie, marie_mailbox, rcpt, f"Envoi {n}") for n in range(12)]
    worker = processes.worker()
    # Killed while a message is claimed ("sending": at the operator's SMTP), after a few went.
    deadline = time.monotonic() + 60
    while not (statuses().get("sent", 0) >= 3 and statuses().get("sending", 0) >= 1):
        assert time.monotonic() < deadline, statuses()
        time.sleep(0.002)
    processes.kill(worker)
    in_flight = set(
        Outgoing.objects.filter(status=Outgoing.Status.SENDING).values_list("pk", flat=True)
    )
    assert in_flight
    processes.worker()
    # The queued tasks the dead worker held (prefetched, unacknowledged) are lost to the
    # broker for its visibility timeout: the sweep must pick their rows up.
    wait_until(lambda: statuses().get("queued", 0) == 0 or _settled_for(2), seconds=60)
    # An interrupted message the operator took has a delivery report: collected first, it
    # proves the message left (the sweep then says sent, not "may have left").
    for pk in in_flight:
        row = Outgoing.objects.get(pk=pk)
        if copies(rcpt, row.message_id):
            wait_until(
                lambda row=row: (
                    receipts.do_collect_receipts(marie_mailbox) >= 0
                    and Receipt.objects.filter(outgoing=row, action="delivered").exists()
                ),
                seconds=30,
            )
    sweep_after_a_while()
    wait_until(lambda: not {"queued", "sending"} & set(statuses()), seconds=60)
    delivered_exactly_once(rcpt)
    assert len(outgoing) == Outgoing.objects.count() == 12


def _settled_for(seconds: float) -> bool:
    """Nothing moved in the outbox for `seconds`."""
    before = statuses()
    time.sleep(seconds)
    return statuses() == before


def test_postfix_down_then_the_broker_restarted_empty_still_sends_each_once(
    processes: Processes,
    marie: User,
    marie_mailbox: Mailbox,
    new_mailbox: NewMailbox,
    operator_backend: OperatorBackend,
    broker: PrivateRedis,
) -> None:
    rcpt = new_mailbox("attente")
    worker = processes.worker()
    operator_backend.stop("postfix")
    try:
        for n in range(5):
            compose(marie, marie_mailbox, rcpt, f"Pendant la panne {n}")
        # Every one tried, refused (no SMTP), and waiting for its retry in the worker.
        wait_until(
            lambda: all(o.attempts >= 1 and o.status == Outgoing.Status.QUEUED
                        for o in Outgoing.objects.all()),
            seconds=60,
        )  # fmt: skip
        assert all("SMTP unreachable" in o.error for o in Outgoing.objects.all())
        broker.restart()  # the retries it held are gone with it
    finally:
        operator_backend.start("postfix")
    # Holding unacknowledged tasks when the broker went, the worker may exit ("Unrecoverable
    # error" in kombu's restore on close, celery/kombu#582): its unit says Restart=always,
    # so a new one comes, as systemd would start it.
    time.sleep(3)
    if worker.poll() is not None:
        processes.worker()
    sweep_after_a_while()  # what it lost is queued again
    wait_until(lambda: set(statuses()) == {"sent"}, seconds=90)
    delivered_exactly_once(rcpt)


def test_a_worker_killed_mid_sync_shows_stopped_within_its_lock_and_the_next_resumes(
    processes: Processes,
    operator_backend: OperatorBackend,
    new_mailbox: NewMailbox,
) -> None:
    """Issue 17: a killed sync said "running" (a frozen progress bar) for 15 minutes."""
    mailbox = new_mailbox("archives")
    fill(operator_backend, mailbox, 6000)
    worker = processes.worker()
    queue.later(queue.SYNC_MAILBOX, mailbox.pk)

    def mid_sync() -> bool:
        state = SyncState.objects.filter(mailbox=mailbox).first()
        return bool(state and state.running and 0 < state.done < state.total)

    assert wait_until(mid_sync, seconds=60)
    processes.kill(worker)
    killed_at = time.monotonic()
    indexed = MessageIndex.objects.filter(folder__mailbox=mailbox).count()
    assert 0 < indexed < 6000
    state = SyncState.objects.get(mailbox=mailbox)
    assert state.running  # its lock has not lapsed yet
    wait_until(lambda: not SyncState.objects.get(mailbox=mailbox).running, seconds=10)
    assert time.monotonic() - killed_at < 5  # the lock's 3 s, not a quarter of an hour
    assert not SyncState.objects.get(mailbox=mailbox).finished_at  # stopped, not finished
    processes.worker()
    queue.later(queue.SYNC_MAILBOX, mailbox.pk)  # the page asks again (the killed task is lost)
    wait_until(lambda: SyncState.objects.get(mailbox=mailbox).finished_at, seconds=60)
    assert SyncState.objects.get(mailbox=mailbox).total <= 6000 - indexed  # resumed, not redone
    assert cache_equals_imap(mailbox)


def test_dovecot_killed_mid_sync_leaves_the_cache_equal_to_imap(
    processes: Processes,
    operator_backend: OperatorBackend,
    new_mailbox: NewMailbox,
) -> None:
    mailbox = new_mailbox("coupure")
    fill(operator_backend, mailbox, 4000)
    processes.worker()
    queue.later(queue.SYNC_MAILBOX, mailbox.pk)
    wait_until(
        lambda: (s := SyncState.objects.filter(mailbox=mailbox).first()) and 0 < s.done < s.total,
        seconds=60,
    )
    operator_backend.kill_dovecot()
    try:
        wait_until(lambda: SyncState.objects.get(mailbox=mailbox).failing, seconds=20)
        assert not SyncState.objects.get(mailbox=mailbox).finished_at
    finally:
        operator_backend.start("dovecot")
    # Meanwhile another client changed things: flags, a message moved away.
    with imap.imap_session(mailbox) as client:
        if not client.folder_exists("Trash"):
            client.create_folder("Trash")
        client.select_folder("INBOX")
        client.add_flags([1, 2, 3], [b"\\Flagged", b"$Urgent"])
        client.remove_flags([1], [b"\\Seen"])
        client.move([4], "Trash")
    # The task retries (OperatorUnavailable, with backoff); a later one sees the changes.
    wait_until(lambda: SyncState.objects.get(mailbox=mailbox).finished_at, seconds=60)
    queue.later(queue.SYNC_MAILBOX, mailbox.pk)
    assert wait_until(lambda: cache_equals_imap(mailbox), seconds=30)
    assert not SyncState.objects.get(mailbox=mailbox).failing


def test_dovecot_killed_under_the_watcher_which_reconnects_and_shows_new_mail_at_once(
    processes: Processes,
    operator_backend: OperatorBackend,
    new_mailbox: NewMailbox,
) -> None:
    mailbox = new_mailbox("veille")
    deliver_to(mailbox, message("Avant"))
    live.touch(mailbox.pk)  # someone has it open: the watcher holds IDLE on it
    processes.worker()
    processes.watcher()

    def shown(subject: str) -> bool:
        return MessageIndex.objects.filter(folder__mailbox=mailbox, subject=subject).exists()

    assert wait_until(lambda: shown("Avant"), seconds=30)  # the watch connected and synced

    # That first sync is a worker's (the cache was not whole yet), and shows rows before it
    # ends: let it end, so that from here each round's mail is the watch's. A worker's retry
    # showed it first once, and the next outage began while the watch still waited (its delay
    # rightly not reset: it had not been up).
    def first_sync_ended() -> bool:
        state = SyncState.objects.filter(mailbox=mailbox).first()
        return bool(state and state.finished_at and not state.running and not state.error)

    assert wait_until(first_sync_ended, seconds=30)
    # A long outage, then a short one. The watch tries again at most every 5 s (it waited up
    # to 60), so new mail shows within seconds of Dovecot being back; and a new outage backs
    # off from 1 s again (it went on from the last outage's delay: 8 s before trying).
    for round_, outage in ((1, 6), (2, 2)):
        live.touch(mailbox.pk)
        killed = datetime.now(UTC)
        operator_backend.kill_dovecot()
        time.sleep(outage)
        operator_backend.start("dovecot")
        back = time.monotonic()
        subject = f"Après la coupure {round_}"
        message_id = f"<veille-{round_}-{uuid.uuid4().hex}@hopital-c.mssante.test>"
        raw = (f"From: karim.benali@hopital-c.mssante.test\r\nTo: {mailbox.address}\r\n"
               f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n\r\nCorps\r\n")  # fmt: skip
        lmtp_deliver(mailbox, raw.encode(), message_id)  # straight to Dovecot, as its MX does
        assert wait_until(lambda subject=subject: shown(subject), seconds=30)
        late = time.monotonic() - back
        assert late < 8, f"outage {round_}: new mail shown {late:.1f} s after Dovecot was back"
        # The watch's own lines (JSON, with its mailbox): lost, then its first try again.
        lost = [
            datetime.fromisoformat(str(e["time"]))
            for e in json_lines(processes.folder / "webmail-watcher@.service.log")
            if "lost" in str(e["message"]) and e.get("mailbox_id") == mailbox.pk
        ]
        lost = [t for t in lost if t > killed]
        assert len(lost) >= 2 and (lost[1] - lost[0]).total_seconds() < 1.6, lost
    assert wait_until(lambda: cache_equals_imap(mailbox), seconds=10)
