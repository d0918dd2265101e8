"""The audit page and its export read as French (issue 15, defect 14): actions and roles in
words, a CSV that French spreadsheets open (";", a UTF-8 byte-order mark, local time to the
second), formulas still neutralised."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from django.urls import reverse

from mailboxes.models import AuditEvent, Mailbox, User
from tests.conftest import client_for


def events(alice: User) -> Mailbox:
    mailbox = Mailbox.objects.get(owner=alice)
    for action, target in (("access.read", ""), ("delegation.revoke", "sec@x.fr sender"),
                           ("message.read", "=cmd|x")):  # fmt: skip
        AuditEvent.objects.create(
            actor=alice, actor_label="Alice", mailbox=mailbox, action=action, target=target,
            outcome="ok",
        )  # fmt: skip
    return mailbox


def test_it_shows_actions_and_roles_in_words(alice: User) -> None:
    mailbox = events(alice)
    page = client_for(alice).get(reverse("admin-audit", args=[mailbox.pk])).content.decode()
    assert "Accès refusé (lecture)" in page and "Délégation retirée" in page
    assert "sec@x.fr (Envoi)" in page
    assert "<td>access.read</td>" not in page and "sender</td>" not in page
    assert '<option value="delegation.revoke">Délégation retirée</option>' in page
    assert 'class="table-scroll"' in page


def test_it_exports_a_csv_french_spreadsheets_open(alice: User) -> None:
    mailbox = events(alice)
    export = client_for(alice).get(reverse("admin-audit", args=[mailbox.pk]), {"export": "csv"})
    raw = b"".join(export.streaming_content)  # type: ignore[attr-defined]
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode().removeprefix("\ufeff")), delimiter=";"))
    assert rows[0][:2] == ["Date", "Personne"] and rows[0][-1] == "Action"
    body = rows[1:]
    created = AuditEvent.objects.get(action="access.read").created
    local = created.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y %H:%M:%S")
    assert local in [row[0] for row in body]
    for row in body:
        datetime.strptime(row[0], "%d/%m/%Y %H:%M:%S")  # noqa: DTZ007 - no microseconds
    assert sorted(r[-1] for r in body if r[4] in ("access.read", "delegation.revoke")) == [
        "Accès refusé (lecture)",
        "Délégation retirée",
    ]
    assert "'=cmd|x" in [row[5] for row in body]  # still never a formula


def test_every_action_the_code_records_has_french_words() -> None:
    """The walk found `message.refused`, `triage.*`, `xdm.search` shown as raw codes: every
    code written anywhere in the application has its label (task names and signal ids aside)."""
    import re
    from pathlib import Path

    from webmail.audit_labels import ACTIONS

    repo = Path(__file__).resolve().parents[2]
    families = "|".join(sorted({code.split(".")[0] for code in ACTIONS} | {"triage", "reply"}))
    written: set[str] = set()
    named: set[str] = set()
    for app in ("mailboxes", "webmail", "documents", "directory", "triage"):
        for path in (repo / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            named |= set(re.findall(r'(?:name|dispatch_uid)="([a-z_]+\.[a-z_]+)"', text))
            written |= set(re.findall(rf'"((?:{families})\.[a-z_]+)"', text))
    assert len(written) > 40  # the scan sees the codes (not an empty pass)
    assert sorted(written - named - set(ACTIONS)) == []


def test_our_own_answers_read_in_french(alice: User) -> None:
    mailbox = Mailbox.objects.get(owner=alice)
    for response in ("outside the trust space", "ok"):
        AuditEvent.objects.create(
            actor=alice, actor_label="Alice", mailbox=mailbox, action="message.refused",
            target="gmail.com", outcome="denied", response=response,
        )  # fmt: skip
    page = client_for(alice).get(reverse("admin-audit", args=[mailbox.pk])).content.decode()
    assert "hors de l’espace de confiance MSSanté" in page
    assert "outside the trust space" not in page and "<small>ok</small>" not in page
