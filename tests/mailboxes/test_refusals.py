"""Reading back the outbox's SMTP refusal texts (issue 15, defect 5)."""

from __future__ import annotations

from mailboxes.mail import refusals


def test_it_reads_each_recipient_refused_and_knows_it_is_for_good() -> None:
    error = (
        "a@b.fr: 554 5.7.1 <a@b.fr>: Relay access denied; "
        "c@d.fr: 550 5.1.1 <c@d.fr>: User unknown in virtual mailbox table"
    )
    first, second = refusals.parse(error)
    assert (first.recipient, first.code, first.enhanced) == ("a@b.fr", "554", "5.7.1")
    assert second.enhanced == "5.1.1" and "User unknown" in second.text
    assert refusals.permanent(error)


def test_it_keeps_a_temporary_or_unreadable_failure_retryable() -> None:
    assert not refusals.permanent("452 4.3.1 Insufficient system storage")
    assert not refusals.permanent("SMTP unreachable (ConnectionRefusedError)")
    assert not refusals.permanent("a@b.fr: 554 5.7.1 no; c@d.fr: 451 4.3.0 later")
    assert not refusals.permanent("")
    assert refusals.permanent("message too large (30 > 20 bytes)")
