"""The metadata cache kept in step with the real Dovecot."""

from __future__ import annotations

import threading
import time
from email.message import EmailMessage

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from pytest_django import Settings

from mailboxes import signals
from mailboxes.mail.folders import Listing
from mailboxes.mailcache import cache, live, sync
from mailboxes.models import Folder, Mailbox, MessageIndex, SyncState
from mailboxes.operator import OperatorUnavailable, imap
from mailboxes.tasks import sync_mailbox
from tests.conftest import OperatorBackend
from tests.integration.helpers import deliver_to, wait_until
from webmail.celery import app as celery_app

pytestmark = pytest.mark.integration
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"


@pytest.fixture
def mailbox(directory: dict[str, Mailbox]) -> Mailbox:
    return directory[JEANNE]


def message(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["Cc"] = "Cardiologie <cardiologie@hopital-c.mssante.test>"
    msg.set_content("Corps")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="cr.pdf")
    return msg


def inbox(mailbox: Mailbox) -> Folder:
    return Folder.objects.get(mailbox=mailbox, name="INBOX")


def server_uids(mailbox: Mailbox) -> set[int]:
    with imap.imap_session(mailbox) as client:
        client.select_folder("INBOX", readonly=True)
        return set(client.search(["ALL"]))


@pytest.mark.both_engines  # deletions go through SQLite's FTS5 triggers too
@pytest.mark.django_db
@pytest.mark.parametrize("qresync", [True, False], ids=["qresync", "search-all"])
def test_it_indexes_new_mail_with_its_metadata(mailbox: Mailbox, qresync: bool) -> None:
    sync.sync_mailbox(mailbox, use_qresync=qresync)
    version = live.version(mailbox.pk)
    uid = deliver_to(mailbox, message("Compte rendu indexé"))
    [result] = [r for r in sync.sync_mailbox(mailbox, qresync) if r.name == "INBOX"]
    assert result.added == 1 and result.removed == 0 and result.qresync == qresync
    assert live.version(mailbox.pk) == version + 1  # open pages will redraw
    row = MessageIndex.objects.get(folder__mailbox=mailbox, uid=uid)
    assert row.subject == "Compte rendu indexé"
    assert row.sender_address == "karim.benali@hopital-c.mssante.test"
    assert "cardiologie@hopital-c.mssante.test" in row.recipients
    assert row.has_attachments and not row.seen and row.date is not None
    assert row.preview == "Corps" and not row.has_xdm
    assert row.thread_key == row.message_id != ""
    state = SyncState.objects.get(mailbox=mailbox)
    assert state.done == state.total == 1 and not state.failing and not state.running
    sync.sync_mailbox(mailbox, qresync)
    assert live.version(mailbox.pk) == version + 1  # nothing changed: no redraw
    folders = {f.name: f.special_use for f in Folder.objects.filter(mailbox=mailbox)}
    assert folders["Sent"] == "\\Sent" and folders["Trash"] == "\\Trash"
    assert inbox(mailbox).highestmodseq > 0  # CONDSTORE is in use
    assert set(inbox(mailbox).index.values_list("uid", flat=True)) == server_uids(mailbox)


@pytest.mark.both_engines  # deletions go through SQLite's FTS5 triggers too
@pytest.mark.django_db
@pytest.mark.parametrize("qresync", [True, False], ids=["qresync", "condstore"])
def test_it_follows_flags_changed_elsewhere_and_expunges(mailbox: Mailbox, qresync: bool) -> None:
    uid = deliver_to(mailbox, message("À suivre"))
    other = deliver_to(mailbox, message("Reste là"))
    sync.sync_mailbox(mailbox, qresync)
    imap.set_flag(mailbox, "INBOX", [uid], b"\\Flagged", True)  # another client did it
    imap.set_flag(mailbox, "INBOX", [uid], b"$Urgent", True)
    [result] = [r for r in sync.sync_mailbox(mailbox, qresync) if r.name == "INBOX"]
    assert result.changed == 1 and result.qresync == qresync  # only that message was read
    row = MessageIndex.objects.get(folder__mailbox=mailbox, uid=uid)
    assert row.flagged and row.keywords == ["$Urgent"]
    imap.move(mailbox, "INBOX", [uid], "Trash")
    [result] = [r for r in sync.sync_mailbox(mailbox, qresync) if r.name == "INBOX"]
    assert result.removed == 1  # VANISHED (EARLIER) with QRESYNC, else SEARCH ALL
    assert MessageIndex.objects.filter(folder=inbox(mailbox), uid=other).exists()
    assert not MessageIndex.objects.filter(folder=inbox(mailbox), uid=uid).exists()
    assert MessageIndex.objects.filter(folder__name="Trash", subject="À suivre").exists()


@pytest.mark.both_engines  # deletions go through SQLite's FTS5 triggers too
@pytest.mark.django_db
def test_it_rebuilds_a_folder_whose_uidvalidity_changed(
    mailbox: Mailbox, operator_backend: OperatorBackend
) -> None:
    deliver_to(mailbox, message("Avant réinitialisation"))
    sync.sync_mailbox(mailbox)
    before = inbox(mailbox).uidvalidity
    operator_backend.doveadm(
        "mailbox", "update", "-u", JEANNE, "--uid-validity", str(before + 1000), "INBOX"
    )
    [result] = [r for r in sync.sync_mailbox(mailbox) if r.name == "INBOX"]
    assert result.rebuilt
    folder = inbox(mailbox)
    assert folder.uidvalidity == before + 1000
    uids = list(folder.index.values_list("uid", flat=True))
    assert len(uids) == len(set(uids)) and set(uids) == server_uids(mailbox)


@pytest.mark.django_db(transaction=True)
def test_it_never_runs_two_syncs_of_one_mailbox_at_once(mailbox: Mailbox) -> None:
    for n in range(3):
        deliver_to(mailbox, message(f"Concurrence {n}"))
    # Another worker holds the mailbox: this one steps aside.
    held = redis.Redis.from_url(settings.CELERY_BROKER_URL).lock(
        f"webmail:lock:sync:{mailbox.pk}", timeout=60
    )
    assert held.acquire(blocking=False)
    try:
        assert sync_mailbox(mailbox.pk) == "skipped"
        assert not Folder.objects.filter(mailbox=mailbox).exists()
    finally:
        held.release()
    # Two at once: one syncs (the other may be turned away); the cache is exact after.
    answers: list[str] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            answers.append(sync_mailbox(mailbox.pk))
        finally:
            connection.close()  # a thread's own connection would keep the test database open

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 2 and any(answer != "skipped" for answer in answers)
    uids = list(inbox(mailbox).index.values_list("uid", flat=True))
    assert len(uids) == len(set(uids)) and set(uids) == server_uids(mailbox)


@pytest.mark.django_db(transaction=True)
def test_it_syncs_in_a_real_worker(mailbox: Mailbox) -> None:
    uid = deliver_to(mailbox, message("Par le worker"))
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        sync_mailbox.delay(mailbox.pk)
        wait_until(lambda: MessageIndex.objects.filter(folder__mailbox=mailbox, uid=uid).exists())


@pytest.mark.django_db
def test_it_marks_xdm_documents_and_threads_replies_across_folders(mailbox: Mailbox) -> None:
    first = message("XDM/1.0/DDM+Compte rendu d'échographie DUPONT Jean")
    first.add_attachment(
        b"PK\x03\x04", maintype="application", subtype="zip", filename="IHE_XDM.ZIP"
    )
    uid = deliver_to(mailbox, first)
    sync.sync_mailbox(mailbox)
    root = MessageIndex.objects.get(folder=inbox(mailbox), uid=uid)
    assert root.has_xdm and root.has_attachments and root.preview == "Corps"
    # Our answer in Sent, then the colleague's answer to it.
    reply = EmailMessage()
    reply["From"], reply["To"] = mailbox.address, "karim.benali@hopital-c.mssante.test"
    reply["Subject"], reply["Message-ID"] = "Re: compte rendu", "<reply-1@operateur-a.mssante.test>"
    reply["In-Reply-To"] = reply["References"] = root.message_id
    reply.set_content("Merci")
    imap.append(mailbox, "\\Sent", reply.as_bytes())
    again = message("Re: Re: compte rendu")
    again["In-Reply-To"] = "<reply-1@operateur-a.mssante.test>"
    again["References"] = f"{root.message_id} <reply-1@operateur-a.mssante.test>"
    deliver_to(mailbox, again)
    sync.sync_mailbox(mailbox)
    conversation = MessageIndex.objects.filter(folder__mailbox=mailbox, thread_key=root.message_id)
    assert sorted(conversation.values_list("folder__name", flat=True)) == ["INBOX", "INBOX", "Sent"]


@pytest.mark.django_db
def test_an_unchanged_folder_is_not_even_opened(mailbox: Mailbox) -> None:
    deliver_to(mailbox, message("Rien de neuf"))
    sync.sync_mailbox(mailbox)
    with imap.imap_session(mailbox) as client:
        assert sync.unchanged(client, inbox(mailbox))  # STATUS alone says so
    imap.set_flag(mailbox, "INBOX", [max(server_uids(mailbox))], b"\\Seen", True)
    with imap.imap_session(mailbox) as client:
        assert not sync.unchanged(client, inbox(mailbox))  # HIGHESTMODSEQ moved


@pytest.mark.django_db
def test_a_sync_stopped_half_way_resumes_without_duplicates(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync.sync_mailbox(mailbox)
    new = [deliver_to(mailbox, message(f"Reprise {n}")) for n in range(5)]
    monkeypatch.setattr(sync, "CHUNK", 2)
    real_download = sync.download
    calls = []

    def failing_download(client: object, uids: list[int]) -> sync.Download:
        calls.append(uids)
        if len(calls) == 2:  # the operator goes away after the first chunk
            raise OperatorUnavailable("IMAP session lost (BrokenPipeError)")
        return real_download(client, uids)  # type: ignore[arg-type]

    monkeypatch.setattr(sync, "download", failing_download)
    with pytest.raises(OperatorUnavailable):
        sync.sync_mailbox(mailbox)
    cached = set(inbox(mailbox).index.values_list("uid", flat=True))
    assert set(new[:2]) <= cached and not set(new[2:]) & cached  # the first chunk was kept
    assert SyncState.objects.get(mailbox=mailbox).failing
    monkeypatch.setattr(sync, "download", real_download)
    sync.sync_mailbox(mailbox)
    uids = list(inbox(mailbox).index.values_list("uid", flat=True))
    assert len(uids) == len(set(uids)) and set(uids) == server_uids(mailbox)
    assert not SyncState.objects.get(mailbox=mailbox).failing


@pytest.mark.django_db
def test_pooled_sessions_survive_an_operator_restart(
    mailbox: Mailbox, operator_backend: OperatorBackend
) -> None:
    sync.sync_mailbox(mailbox)  # leaves its session in the pool
    operator_backend.stop("dovecot")
    operator_backend.start("dovecot")
    uid = deliver_to(mailbox, message("Après redémarrage"))
    sync.sync_mailbox(mailbox)  # the dead session is noticed (NOOP) and replaced
    assert MessageIndex.objects.filter(folder=inbox(mailbox), uid=uid).exists()


@pytest.mark.django_db(transaction=True)
def test_a_dead_workers_sync_lock_lapses_quickly_and_a_live_one_is_renewed(
    mailbox: Mailbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: a worker killed mid-sync held the mailbox for 15 minutes."""
    settings.WEBMAIL_SYNC_LOCK_SECONDS = 2
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    key = f"webmail:lock:sync:{mailbox.pk}"
    # A worker took the lock, then died (nothing renews it).
    assert broker.lock(key, timeout=settings.WEBMAIL_SYNC_LOCK_SECONDS).acquire(blocking=False)
    assert sync_mailbox(mailbox.pk) == "skipped"
    time.sleep(2.5)
    assert sync_mailbox(mailbox.pk) != "skipped"  # seconds later, not a quarter of an hour
    # A sync that runs longer than the lock's life keeps it: a second one steps aside.
    real = sync.sync_mailbox

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(3.5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sync, "sync_mailbox", slow)
    answers: list[str] = []

    def run() -> None:
        try:
            answers.append(sync_mailbox(mailbox.pk))
        finally:
            connection.close()  # the thread's own

    runner = threading.Thread(target=run)
    runner.start()
    try:
        time.sleep(2.8)  # past the lock's own timeout
        assert sync_mailbox(mailbox.pk) == "skipped"
    finally:
        runner.join(timeout=30)
    assert answers and answers[0] != "skipped"
    assert not broker.exists(key)  # released when done


class WorkerKilled(BaseException):
    """Not an Exception: nothing in the sync catches it, as nothing survives a kill -9."""


@pytest.mark.django_db
def test_a_first_sync_fills_page_one_before_the_backfill(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: newest first, so page 1 is right after the first chunk, while the older
    messages are still being indexed."""
    for n in range(5):
        deliver_to(mailbox, message(f"Récent {n}"))
    monkeypatch.setattr(sync, "CHUNK", 2)
    newest = sorted(server_uids(mailbox), reverse=True)
    pages: list[list[int]] = []

    def look(
        sender: object, folder: Folder, messages: list[MessageIndex], **kwargs: object
    ) -> None:
        if folder.name == "INBOX" and not pages:
            fresh = Folder.objects.get(pk=folder.pk)
            pages.append([row.uid for row in cache.page(fresh, Listing(), 2).rows])
            pages.append(list(fresh.index.values_list("uid", flat=True)))

    signals.messages_indexed.connect(look, weak=False)
    try:
        sync.sync_mailbox(mailbox)
    finally:
        signals.messages_indexed.disconnect(look)
    page_one, indexed = pages
    assert page_one == newest[:2] and sorted(indexed, reverse=True) == newest[:2]
    assert set(inbox(mailbox).index.values_list("uid", flat=True)) == set(newest)
    assert inbox(mailbox).messages == len(newest)


@pytest.mark.django_db
def test_a_first_sync_killed_half_way_resumes_with_what_is_left(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        deliver_to(mailbox, message(f"Reprise du remplissage {n}"))
    monkeypatch.setattr(sync, "CHUNK", 2)
    newest = sorted(server_uids(mailbox), reverse=True)
    chunks_seen: list[int] = []

    def kill(
        sender: object, folder: Folder, messages: list[MessageIndex], **kwargs: object
    ) -> None:
        if folder.name == "INBOX":
            chunks_seen.append(len(messages))
            if len(chunks_seen) == 2:
                raise WorkerKilled

    signals.messages_indexed.connect(kill, weak=False)
    try:
        with pytest.raises(WorkerKilled):
            sync.sync_mailbox(mailbox)
    finally:
        signals.messages_indexed.disconnect(kill)
    kept = set(inbox(mailbox).index.values_list("uid", flat=True))
    assert kept == set(newest[:4])  # two chunks committed, the newest ones

    [result] = [r for r in sync.sync_mailbox(mailbox) if r.name == "INBOX"]
    assert result.added == len(newest) - 4  # only what was left
    uids = list(inbox(mailbox).index.values_list("uid", flat=True))
    assert len(uids) == len(set(uids)) and set(uids) == set(newest)


@pytest.mark.django_db
@pytest.mark.parametrize("qresync", [True, False], ids=["qresync", "search-all"])
def test_our_own_flag_change_coming_back_redraws_no_list(mailbox: Mailbox, qresync: bool) -> None:
    """A message opened is \\Seen at the operator and in the cache at once (quietly); the next
    sync sees the flag "changed" since its last state, but the row already says so: no
    version bump, so no open list redraws for it (issue 17). A change made elsewhere does."""
    uid = deliver_to(mailbox, message("Lu ici"))
    sync.sync_mailbox(mailbox, use_qresync=qresync)
    imap.set_flag(mailbox, "INBOX", [uid], b"\\Seen", True)
    cache.after_flags(mailbox, "INBOX", [uid], quiet=True, seen=True)  # what opening does
    version = live.version(mailbox.pk)
    [result] = [r for r in sync.sync_mailbox(mailbox, qresync) if r.name == "INBOX"]
    assert result.changed == 0 and live.version(mailbox.pk) == version
    imap.set_flag(mailbox, "INBOX", [uid], b"\\Flagged", True)  # elsewhere
    [result] = [r for r in sync.sync_mailbox(mailbox, qresync) if r.name == "INBOX"]
    assert result.changed == 1 and live.version(mailbox.pk) == version + 1


@pytest.mark.django_db
def test_a_folder_found_or_gone_moves_the_version(mailbox: Mailbox) -> None:
    """The pages' folder lists (and the reader's places, kept per version) follow a folder
    created or deleted at the operator, even with no message in it."""
    sync.sync_mailbox(mailbox)
    before = live.version(mailbox.pk)
    with imap.imap_session(mailbox) as client:
        client.create_folder("Dossiers patients")
    sync.sync_mailbox(mailbox)
    assert Folder.objects.filter(mailbox=mailbox, name="Dossiers patients").exists()
    assert live.version(mailbox.pk) > before
    found = live.version(mailbox.pk)
    sync.sync_mailbox(mailbox)  # nothing new: no redraw
    assert live.version(mailbox.pk) == found
    with imap.imap_session(mailbox) as client:
        client.delete_folder("Dossiers patients")
    sync.sync_mailbox(mailbox)
    assert not Folder.objects.filter(mailbox=mailbox, name="Dossiers patients").exists()
    assert live.version(mailbox.pk) > found


@pytest.mark.django_db
def test_the_watchers_inbox_sync_touches_the_inbox_alone(mailbox: Mailbox) -> None:
    """What IDLE reports is synced at once, in the watcher, without a worker: the INBOX only
    (no LIST: the other folders, and a folder gone meanwhile, wait for a whole sync)."""
    from mailboxes.actions import syncing

    sync.sync_mailbox(mailbox)
    with imap.imap_session(mailbox) as client:
        client.create_folder("Ailleurs")
        client.append("Ailleurs", message("Classé ailleurs").as_bytes())
    uid = deliver_to(mailbox, message("Arrivé pendant IDLE"))
    before = live.version(mailbox.pk)
    syncing.on_inbox_change(mailbox.pk)  # no Celery worker runs in this test
    assert inbox(mailbox).index.filter(uid=uid).exists()
    assert live.version(mailbox.pk) > before
    assert not Folder.objects.filter(mailbox=mailbox, name="Ailleurs").exists()
    assert Folder.objects.filter(mailbox=mailbox).count() > 1  # the others are kept
    sync.sync_mailbox(mailbox)
    assert Folder.objects.get(mailbox=mailbox, name="Ailleurs").index.count() == 1


@pytest.mark.django_db
def test_the_watcher_hands_an_unfinished_cache_or_a_failure_to_the_workers(
    mailbox: Mailbox, operator_backend: OperatorBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mailbox never synced to the end is a first sync: a worker's job, not the watcher's.
    An INBOX sync that fails (operator down) is queued for a worker: nothing is lost."""
    from mailboxes import queue
    from mailboxes.actions import syncing

    queued: list[tuple[str, tuple[object, ...]]] = []
    monkeypatch.setattr(queue, "later", lambda name, *args: queued.append((name, args)))
    syncing.on_inbox_change(mailbox.pk)  # never synced
    assert queued == [(queue.SYNC_MAILBOX, (mailbox.pk,))]
    assert not Folder.objects.filter(mailbox=mailbox).exists()
    sync.sync_mailbox(mailbox)
    queued.clear()
    operator_backend.stop("dovecot")
    imap.drop_pool()  # its sessions may outlive Dovecot's master a while
    try:
        syncing.on_inbox_change(mailbox.pk)
    finally:
        operator_backend.start("dovecot")
    assert queued == [(queue.SYNC_MAILBOX, (mailbox.pk,))]


@pytest.mark.django_db(transaction=True)
def test_a_change_told_with_the_end_of_idle_is_not_lost(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the server says between the watcher's last look and its DONE comes back with the
    DONE's answer (at each reissue of IDLE): it is a change like any other. Here every round
    ends at once (no look at all), so only that answer can tell of the new message."""
    from mailboxes.mailcache import watcher

    sync.sync_mailbox(mailbox)
    monkeypatch.setattr(watcher, "REISSUE_SECONDS", -1)
    told = threading.Event()
    calls: list[int] = []

    def on_change(mailbox_id: int) -> None:
        calls.append(mailbox_id)
        if len(calls) > 1:  # the first is the catch-up on connecting
            told.set()

    watch = watcher.MailboxWatch(mailbox, on_change)
    watch.start()
    try:
        assert watch.connected.wait(10)
        time.sleep(0.5)
        assert calls == [mailbox.pk]
        deliver_to(mailbox, message("Arrivé au moment du DONE"))
        assert told.wait(10), "the new message was never told"
    finally:
        watch.stop()
        watch.join(timeout=15)
