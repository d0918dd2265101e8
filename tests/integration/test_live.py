"""New mail reaches the open page: Postfix -> Dovecot -> IDLE watcher -> Celery worker ->
cache -> the page's poll. All real: the worker runs on the Redis broker."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from django.urls import reverse

from mailboxes.mailcache import live
from mailboxes.models import Mailbox, User
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, pushing, synced, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_new_mail_shows_in_the_open_page_within_seconds(
    marie: User, marie_mailbox: Mailbox
) -> None:
    synced(marie_mailbox)
    client = client_for(marie)
    page = client.get(reverse("mail-folder", args=[marie_mailbox.pk]))
    html = page.content.decode()
    poll = re.search(r'hx-get="([^"]+)"', html)
    assert poll, "the page polls for changes"
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
