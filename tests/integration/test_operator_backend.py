"""The local MSSanté operator (scripts/operator_backend.py) behaves like one."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailboxes.models import Mailbox
from mailboxes.operator.imap import imap_session
from tests.conftest import OperatorBackend
from tests.integration.helpers import submission, wait_until

pytestmark = pytest.mark.integration
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"
KARIM = "karim.benali@hopital-c.mssante.test"


def test_it_refuses_a_recipient_outside_the_trust_space_with_the_servers_reason(
    operator_backend: OperatorBackend,
) -> None:
    with submission(JEANNE) as smtp, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.sendmail(JEANNE, ["dr.house@gmail.com"], b"Subject: x\r\n\r\nx\r\n")
    code, reason = refused.value.recipients["dr.house@gmail.com"]
    assert code == 554
    assert b"outside the MSSante trust space" in reason


def test_it_delivers_across_operators_and_returns_a_dsn_success_report(
    operator_backend: OperatorBackend,
) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = JEANNE, KARIM, "Test DSN"
    message["Message-ID"] = "<dsn-test@operateur-a.mssante.test>"
    message.set_content("Bonjour")
    with submission(JEANNE) as smtp:
        assert "dsn" in smtp.esmtp_features
        smtp.send_message(
            message,
            mail_options=["ENVID=dsn-test", "RET=HDRS"],
            rcpt_options=["NOTIFY=SUCCESS,FAILURE"],
        )

    def report_in_jeannes_inbox() -> bool:
        with imap_session(Mailbox(address=JEANNE)) as client:
            client.select_folder("INBOX", readonly=True)
            return bool(client.search(["HEADER", "Content-Type", "delivery-status"]))

    assert wait_until(report_in_jeannes_inbox)
    with imap_session(Mailbox(address=KARIM)) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["HEADER", "Message-ID", "<dsn-test@operateur-a.mssante.test>"])


def test_it_lets_the_master_user_in_for_existing_mailboxes_only(
    operator_backend: OperatorBackend,
) -> None:
    host, port = settings.OPERATOR_IMAP_HOST, settings.OPERATOR_IMAP_PORT
    with IMAPClient(host, port=port, ssl=False, timeout=5) as client:
        client.login(f"{KARIM}*{settings.OPERATOR_MASTER_USER}", settings.OPERATOR_MASTER_PASSWORD)
        special = {flags[-1] for flags, _, _ in client.list_folders() if len(flags) > 1}
        assert {b"\\Sent", b"\\Drafts", b"\\Trash", b"\\Archive", b"\\Junk"} <= special
        assert {b"CONDSTORE", b"QRESYNC", b"IDLE", b"MOVE"} <= set(client.capabilities())
    # Dovecot delays each failed login, longer after each one (auth penalty): wait for it.
    with IMAPClient(host, port=port, ssl=False, timeout=30) as client, pytest.raises(LoginError):
        client.plain_login(
            settings.OPERATOR_MASTER_USER,
            settings.OPERATOR_MASTER_PASSWORD,
            authorization_identity="nobody@operateur-a.mssante.test",
        )
    with IMAPClient(host, port=port, ssl=False, timeout=30) as client, pytest.raises(LoginError):
        client.login(f"{KARIM}*{settings.OPERATOR_MASTER_USER}", "wrong-password")


def test_it_refuses_loudly_a_port_another_process_holds(tmp_path: Path) -> None:
    """Issue 16: a taken port base made the operator start nothing, silently; seeding then
    failed later with a misleading error."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "operator_backend.py"
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", 45143))  # the IMAP port of --port-base 45000
    squatter.listen()
    try:
        started = subprocess.run(
            [sys.executable, str(script), "start", "--name", "porttaken", "--port-base", "45000"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TMPDIR": str(tmp_path)},
        )
    finally:
        squatter.close()
        subprocess.run(
            [sys.executable, str(script), "stop", "--name", "porttaken", "--port-base", "45000"],
            capture_output=True,
            timeout=120,
            env={**os.environ, "TMPDIR": str(tmp_path)},
        )
    assert started.returncode != 0
    assert "port(s) 45143 on 127.0.0.1 already in use" in started.stderr
