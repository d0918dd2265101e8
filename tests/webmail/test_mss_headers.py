"""MSSanté headers of what we send: X-MSS-NIL on every message, required outside DEBUG
(CONFORMANCE.md XDM-S6, CONF.16/ECO.2.4.3, TST 4); read reports echo Original-Recipient
(RCPT d)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from pytest_django import Settings

from mailboxes.actions.outbox import Draft, build
from mailboxes.mail.receipts import build_mdn
from mailboxes.models import Mailbox, User
from tests.webmail.test_settings import production_env, run_manage
from webmail.checks import mss_nil


def test_it_puts_x_mss_nil_on_messages_replies_and_read_reports(
    alice: User, settings: Settings
) -> None:
    settings.WEBMAIL_MSS_NIL = "REF-CONVERGENCE-42"
    mailbox = Mailbox.objects.get(owner=alice)
    message = build(alice, mailbox, Draft(to=["b@x.test"], subject="Bonjour"))
    assert message["X-MSS-NIL"] == "REF-CONVERGENCE-42"
    reply = build(alice, mailbox, Draft(to=["b@x.test"], subject="Re: x", in_reply_to="<a@b>"))
    assert reply["X-MSS-NIL"] == "REF-CONVERGENCE-42"
    original = EmailMessage()
    original["Message-ID"] = "<a@b>"
    original["Subject"] = "x"
    assert build_mdn(mailbox, original, "b@x.test")["X-MSS-NIL"] == "REF-CONVERGENCE-42"


def test_it_refuses_to_start_without_it_outside_debug(settings: Settings) -> None:
    settings.WEBMAIL_MSS_NIL = ""
    settings.DEBUG = False
    assert [e.id for e in mss_nil(None)] == ["webmail.E001"]
    settings.DEBUG = True
    assert mss_nil(None) == []
    settings.DEBUG, settings.WEBMAIL_MSS_NIL = False, "REF"
    assert mss_nil(None) == []


def test_the_deployment_check_refuses_production_without_it(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["WEBMAIL_MSS_NIL"]
    result = run_manage(env, "check", "--deploy")
    assert result.returncode != 0 and "webmail.E001" in result.stderr + result.stdout


def test_a_read_report_echoes_the_original_recipient(alice: User) -> None:
    """RCPT (d): Original-Recipient echoed, Final-Recipient the mailbox."""
    mailbox = Mailbox.objects.get(owner=alice)
    original = EmailMessage()
    original["Message-ID"] = "<a@b>"
    original["Original-Recipient"] = "rfc822; secretariat@x.test"
    report = build_mdn(mailbox, original, "b@x.test").as_string()
    assert "Original-Recipient: rfc822; secretariat@x.test" in report
    assert f"Final-Recipient: rfc822; {mailbox.address}" in report
    assert "Original-Recipient" not in build_mdn(mailbox, EmailMessage(), "b@x.test").as_string()
