"""Fixtures of the integration tests: the pharmacist's mailbox, and Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from mailboxes.models import Mailbox, User

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright runs an event loop
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture
def jeanne_mailbox(directory: dict[str, Mailbox]) -> Mailbox:
    return directory[JEANNE]


@pytest.fixture
def jeanne(jeanne_mailbox: Mailbox) -> User:
    assert jeanne_mailbox.owner is not None
    return jeanne_mailbox.owner


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's /usr/bin/chromium, headless; `playwright install` is never run."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
