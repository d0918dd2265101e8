"""New mail reaches the open page: Postfix -> Dovecot -> IDLE watcher -> Celery worker ->
cache -> the page's `changes` request. All real: the worker runs on the Redis broker. (The
event stream that tells the page to ask: tests/integration/test_push.py.)"""

from __future__ import annotations

import re
import resource
import time
from email.message import EmailMessage

import pytest
from django.urls import reverse

from mailboxes.mailcache import live
from mailboxes.models import Mailbox, MessageIndex, User
from tests.conftest import OperatorBackend, client_for
from tests.integration.helpers import deliver_to, pushing, synced, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_new_mail_shows_in_the_open_page_within_seconds(
    marie: User, marie_mailbox: Mailbox
) -> None:
    synced(marie_mailbox)
    client = client_for(marie)
    page = client.get(reverse("mail-folder", args=[marie_mailbox.pk]))
    html = page.content.decode()
    poll = re.search(r'data-changes="([^"]+)"', html)
    assert poll, "the page asks for changes (told by its event stream)"
    poll_url = poll.group(1).replace("&amp;", "&")
    assert client.get(poll_url).status_code == 204  # nothing new yet
    with pushing(marie_mailbox):
        msg = EmailMessage()
        msg["Subject"] = "Arrivé en direct"
        msg.set_content("Nouveau")
        deliver_to(marie_mailbox, msg)

        def redrawn() -> bool:
            answer = client.get(poll_url)
            return answer.status_code == 200 and "Arrivé en direct" in answer.content.decode()

        wait_until(redrawn, seconds=20)
    answer = client.get(poll_url).content.decode()
    assert re.search(r'<nav class="folders" id="folders"[^>]*hx-swap-oob="true"', answer)


def test_the_poll_is_refused_without_the_right_to_read(karim: User, marie_mailbox: Mailbox) -> None:
    live.touch(marie_mailbox.pk)
    url = reverse("mail-changes", args=[marie_mailbox.pk])
    assert client_for(karim).get(url, {"v": "0"}).status_code == 404


def test_the_watcher_notices_dovecot_going_away_and_comes_back_without_spinning(
    marie_mailbox: Mailbox, operator_backend: OperatorBackend
) -> None:
    """Issue 17: on a dropped connection imapclient answers IDLE checks with [] at once, for
    ever; the watch thread spun at 100 % CPU and pushed nothing until its 25-minute re-issue."""
    synced(marie_mailbox)
    with pushing(marie_mailbox) as watcher:
        watch = watcher.watches[marie_mailbox.pk]
        cpu_before = _process_cpu()
        operator_backend.stop("dovecot")
        try:
            wait_until(lambda: not watch.connected.is_set(), seconds=20)
            time.sleep(3)  # down a while: the thread must wait, not spin
            spent = _process_cpu() - cpu_before
        finally:
            operator_backend.start("dovecot")
        assert spent < 2.5, f"{spent:.1f} s of CPU in ~4 s of outage: a busy loop"
        wait_until(lambda: watcher.watches[marie_mailbox.pk].connected.is_set(), seconds=40)
        msg = EmailMessage()
        msg["Subject"] = "Après la coupure"
        msg.set_content("De retour")
        deliver_to(marie_mailbox, msg)
        wait_until(
            lambda: MessageIndex.objects.filter(
                folder__mailbox=marie_mailbox, subject="Après la coupure"
            ).exists(),
            seconds=20,
        )


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
