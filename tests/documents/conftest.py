"""Fixtures of the documents tests: a trap for any network access, a clean working folder."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.documents.hostile_xdm import TRAP_HOST


@pytest.fixture
def trap() -> Iterator[tuple[int, socket.socket]]:
    """A listener where hostile XML points; a test asserts nobody connected (no network)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((TRAP_HOST, 0))
    listener.listen(8)
    listener.setblocking(False)
    yield listener.getsockname()[1], listener
    listener.close()


def connected(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


@pytest.fixture
def sealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Work from an empty folder with an empty temporary folder: the test checks both stay
    empty (nothing extracted, no temporary file)."""
    temp = tmp_path / "tmp"
    work = tmp_path / "work"
    temp.mkdir()
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    yield tmp_path
    assert not os.listdir(temp) and not os.listdir(work)
