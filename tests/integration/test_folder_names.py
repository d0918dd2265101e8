"""Special-use folders are called by their French names wherever a folder is named: the
list's heading and title, search results, the conversation (issue 15, defect 8)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from mailboxes.models import Folder, Mailbox, User
from tests.conftest import client_for
from tests.integration.helpers import synced

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("demo_mail")]


def test_it_names_special_use_folders_in_the_list_heading_and_title(
    marie: User, marie_mailbox: Mailbox
) -> None:
    synced(marie_mailbox)
    names = dict(Folder.objects.filter(mailbox=marie_mailbox).values_list("special_use", "name"))
    client = client_for(marie)
    for special_use, french in (("\\Sent", "Envoyés"), ("\\Drafts", "Brouillons"),
                                ("\\Trash", "Corbeille")):  # fmt: skip
        page = client.get(
            reverse("mail-folder", args=[marie_mailbox.pk]), {"folder": names[special_use]}
        )
        html = page.content.decode()
        heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
        title = re.search(r"<title>(.*?)</title>", html, re.S)
        assert heading and french in heading.group(1) and names[special_use] not in heading.group(1)
        assert title and french in title.group(1)
