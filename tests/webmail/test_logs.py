"""JSON log lines (WEBMAIL_LOG_FORMAT=json): the request id and the mailbox on every line of a
request, never content. The real processes' lines: tests/integration/test_observability.py."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from pytest_django import Settings

from mailboxes.models import Mailbox, Outgoing, User
from tests.conftest import client_for
from webmail.logs import ContextFilter, JsonFormatter

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
SUBJECT = "Bilan biologique DUPONT Jean-Pierre"
KARIM = "karim.benali@hopital-c.mssante.test"


@pytest.fixture
def lines(settings: Settings) -> Iterator[io.StringIO]:
    """What the console handler writes with WEBMAIL_LOG_FORMAT=json, captured."""
    settings.WEBMAIL_LOG_REQUESTS = True
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_writes_every_line_of_a_request_with_its_id_and_mailbox_and_no_content(
    lines: io.StringIO, marie: User, marie_mailbox: Mailbox
) -> None:
    answer = client_for(marie).post(
        reverse("mail-compose", args=[marie_mailbox.pk]),
        {"to": KARIM, "subject": SUBJECT, "text": "Hémoglobine 13,2 g/dL", "from_mailbox": str(marie_mailbox.pk)},
        HTTP_X_REQUEST_ID="proxy-7f3a9c21-req",
    )  # fmt: skip
    assert answer.status_code == 302 and Outgoing.objects.exists()
    assert answer["X-Request-ID"] == "proxy-7f3a9c21-req"  # the proxy's id, echoed
    entries = parsed(lines)
    assert len(entries) >= 2  # the audit line of the queued message, and the request line
    for entry in entries:
        assert entry["request_id"] == "proxy-7f3a9c21-req", entry
        assert entry["mailbox_id"] == marie_mailbox.pk, entry
        assert {"time", "level", "logger", "message", "process"} <= set(entry)
    [request] = [e for e in entries if e["logger"] == "webmail.request"]
    assert (request["view"], request["status"], request["method"]) == ("mail-compose", 302, "POST")
    assert isinstance(request["duration_ms"], float)
    text = lines.getvalue()
    assert SUBJECT not in text and "Hémoglobine" not in text
    assert "karim.benali" not in text and "marie.durand" not in text


def test_a_request_id_that_does_not_look_like_one_is_replaced(
    lines: io.StringIO, marie: User
) -> None:
    client = client_for(marie)
    made = client.get(reverse("healthz-live"), HTTP_X_REQUEST_ID="a b <script>")
    again = client.get(reverse("healthz-live"))
    for answer in (made, again):
        assert len(answer["X-Request-ID"]) == 32 and answer["X-Request-ID"].isalnum()
    assert made["X-Request-ID"] != again["X-Request-ID"]
    ids = [e["request_id"] for e in parsed(lines) if e["logger"] == "webmail.request"]
    assert ids == [made["X-Request-ID"], again["X-Request-ID"]]
    assert "script" not in lines.getvalue()


def test_an_exception_is_logged_by_its_type_and_place_never_its_text(lines: io.StringIO) -> None:
    try:
        raise ValueError(f"bad header: Subject: {SUBJECT} <jean.dupont@patient.mssante.fr>")
    except ValueError:
        logging.getLogger("mailboxes.test").exception("parse of mailbox %s failed", 7)
    [entry] = parsed(lines)
    assert entry["message"] == "parse of mailbox 7 failed"
    assert entry["exception"] == "builtins.ValueError"
    assert any("test_logs.py" in frame for frame in entry["stack"])  # type: ignore[attr-defined]
    assert SUBJECT not in lines.getvalue() and "jean.dupont" not in lines.getvalue()


def test_an_address_a_library_logs_keeps_its_domain_only(lines: io.StringIO) -> None:
    logging.getLogger("some.library").warning("refused <123456789012345@patient.mssante.fr>")
    [entry] = parsed(lines)
    assert entry["message"] == "refused <***@patient.mssante.fr>"


def test_the_setting_turns_the_console_to_json_lines(tmp_path: Path) -> None:
    code = (
        "import logging; from mailboxes import logcontext; "
        "logcontext.mailbox_id.set(42); logging.getLogger('mailboxes.x').warning('hello')"
    )
    env = {"WEBMAIL_LOG_FORMAT": "json", "WEBMAIL_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"}
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    [entry] = [json.loads(line) for line in shown.stderr.splitlines() if line.startswith("{")]
    assert (entry["message"], entry["mailbox_id"], entry["level"]) == ("hello", 42, "WARNING")
