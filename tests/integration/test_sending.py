"""Sending through the outbox and a real Celery worker, to the real Postfix and Dovecot."""

from __future__ import annotations

import email
import html
import re
from collections.abc import Iterator
from email.policy import default as default_policy

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pytest_django import Settings

from mailboxes.actions.delegations import do_grant_delegation
from mailboxes.models import AuditEvent, Mailbox, MessageIndex, Outgoing, User
from mailboxes.operator import imap
from tests.conftest import OperatorBackend, client_for
from tests.directory.lists import put_in_force
from tests.integration.helpers import in_folder, synced, wait_until
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MARIE = "marie.durand@operateur-a.mssante.test"
KARIM = "karim.benali@hopital-c.mssante.test"
PHARMACY = "pharmacie.marche@operateur-a.mssante.test"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    settings.WEBMAIL_SEND_RETRY_SECONDS = 1
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


@pytest.fixture
def listed_outside() -> None:
    """The webmail's trust list may hold a domain the operator refuses (they are refreshed
    apart): the operator's refusal is then what the person sees."""
    put_in_force("gmail.com", "patient.mssante.fr")


def fetch(mailbox: Mailbox, message_id: str, folder: str = "INBOX") -> email.message.Message:
    with imap.imap_session(mailbox) as client:
        client.select_folder(folder, readonly=True)
        [uid] = client.search(["HEADER", "Message-ID", message_id])
        raw = client.fetch([uid], [b"BODY.PEEK[]"])[uid][b"BODY[]"]
    return email.message_from_bytes(raw, policy=default_policy)


def fetch_uid(mailbox: Mailbox, folder: str, uid: int) -> email.message.EmailMessage:
    with imap.imap_session(mailbox) as client:
        client.select_folder(folder, readonly=True)
        raw = client.fetch([uid], [b"BODY.PEEK[]"])[uid][b"BODY[]"]
    return email.message_from_bytes(raw, policy=default_policy)  # type: ignore[return-value]


def send(user: User, mailbox: Mailbox, **fields: object) -> Outgoing:
    data = {
        "to": KARIM,
        "subject": "Échographie — résultats",
        "text": "Bonjour,\nci-joint.",
        "request_dsn": "on",
        "from_mailbox": str(mailbox.pk),
        **fields,
    }
    page = client_for(user).post(reverse("mail-compose", args=[mailbox.pk]), data)
    assert page.status_code == 302, page.content.decode()[:2000]
    return Outgoing.objects.latest("created")


def settled(outgoing: Outgoing, status: str = Outgoing.Status.SENT) -> Outgoing:
    wait_until(lambda: Outgoing.objects.get(pk=outgoing.pk).status == status, seconds=60)
    return Outgoing.objects.get(pk=outgoing.pk)


def test_it_sends_with_attachments_and_a_delivery_report(
    worker: None, directory: dict[str, Mailbox], marie: User
) -> None:
    attachment = SimpleUploadedFile("compte-rendu échographie.pdf", PDF, "application/pdf")
    outgoing = settled(send(marie, directory[MARIE], attachments=attachment))
    received = fetch(directory[KARIM], outgoing.message_id)
    assert received["Subject"] == "Échographie — résultats"
    assert received["From"].addresses[0].addr_spec == MARIE
    assert received["Sender"] is None  # her own mailbox
    assert outgoing.message_id.endswith("@operateur-a.mssante.test>")
    [part] = list(received.iter_attachments())
    assert part.get_filename() == "compte-rendu échographie.pdf"
    assert part.get_content() == PDF  # byte for byte
    assert "ci-joint." in received.get_body(("plain",)).get_content()
    wait_until(lambda: Outgoing.objects.get(pk=outgoing.pk).copied_to_sent)
    assert in_folder(directory[MARIE], outgoing.message_id, "Sent")
    assert bytes(Outgoing.objects.get(pk=outgoing.pk).raw) == b""  # content forgotten here

    def report() -> bool:  # in INBOX, or already filed away once matched (issue 15, defect 4)
        with imap.imap_session(directory[MARIE]) as client:
            for folder in ("INBOX", settings.WEBMAIL_RECEIPTS_FOLDER):
                if client.folder_exists(folder):
                    client.select_folder(folder, readonly=True)
                    envid = f"Original-Envelope-Id: {outgoing.envelope_id}"
                    if client.search(["BODY", envid]):
                        return True
        return False

    assert wait_until(report, seconds=30)  # Postfix's DSN success report, tagged with our random id
    assert AuditEvent.objects.get(action="message.send").outcome == "ok"


def test_it_puts_the_delegate_in_sender_when_sending_for_a_structure(
    worker: None, directory: dict[str, Mailbox]
) -> None:
    pharmacy = directory[PHARMACY]
    sophie = User.objects.create_user(
        "sophie",
        email="sophie@exemple.fr",
        first_name="Sophie",
        last_name="MARTIN",
        subject_name_id="0999",
    )
    do_grant_delegation(pharmacy.structure.managers.get(), pharmacy, sophie, "sender")  # type: ignore[union-attr]
    outgoing = settled(send(sophie, pharmacy))
    received = fetch(directory[KARIM], outgoing.message_id)
    assert received["From"].addresses[0].addr_spec == PHARMACY
    assert received["Sender"].addresses[0].addr_spec == "sophie@exemple.fr"
    assert received["Sender"].addresses[0].display_name == "Sophie MARTIN"


def test_it_keeps_a_message_refused_outside_the_trust_space_with_the_reason(
    worker: None, directory: dict[str, Mailbox], marie: User, listed_outside: None
) -> None:
    outgoing = settled(
        send(marie, directory[MARIE], to="dr.house@gmail.com"), Outgoing.Status.FAILED
    )
    assert "outside the MSSante trust space" in outgoing.error
    assert b"Subject:" in bytes(outgoing.raw)  # nothing lost
    page = client_for(marie).get(reverse("mail-outbox", args=[directory[MARIE].pk]))
    assert "Non envoyé" in page.content.decode() and "trust space" in page.content.decode()
    assert AuditEvent.objects.get(action="message.send").outcome == "error"


def test_it_explains_a_refusal_for_good_in_french_and_offers_no_retry(
    worker: None, directory: dict[str, Mailbox], marie: User, listed_outside: None
) -> None:
    """Issue 15 defect 5: the subject is shown; a permanent 5.x.x refusal is explained in
    French (Postfix's words only as a detail) and not offered "Réessayer"."""
    outgoing = settled(
        send(marie, directory[MARIE], to="dr.house@gmail.com"), Outgoing.Status.FAILED
    )
    page = client_for(marie).get(reverse("mail-outbox", args=[directory[MARIE].pk]))
    html = page.content.decode()
    assert "Échographie — résultats" in html
    assert "hors de l&#x27;espace de confiance MSSanté" in html
    assert re.search(r"<details><summary>Réponse du serveur</summary><small>[^<]*trust space", html)
    assert reverse("mail-outbox-retry", args=[directory[MARIE].pk, outgoing.pk]) not in html
    assert "Réessayer" not in html


def test_it_retries_while_postfix_is_down_and_delivers_once(
    worker: None, directory: dict[str, Mailbox], marie: User, operator_backend: OperatorBackend
) -> None:
    operator_backend.stop("postfix")
    try:
        outgoing = send(marie, directory[MARIE])
        wait_until(lambda: Outgoing.objects.get(pk=outgoing.pk).attempts >= 2, seconds=30)
        waiting = Outgoing.objects.get(pk=outgoing.pk)
        assert waiting.status in (Outgoing.Status.QUEUED, Outgoing.Status.SENDING)
        assert "SMTP unreachable" in waiting.error
    finally:
        operator_backend.start("postfix")
    settled(outgoing)
    with imap.imap_session(directory[KARIM]) as client:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["HEADER", "Message-ID", outgoing.message_id])) == 1


def test_it_refuses_to_compose_for_a_reader(directory: dict[str, Mailbox]) -> None:
    pharmacy = directory[PHARMACY]
    reader = User.objects.create_user("lecteur", subject_name_id="0998")
    do_grant_delegation(pharmacy.structure.managers.get(), pharmacy, reader, "reader")  # type: ignore[union-attr]
    client = client_for(reader)
    assert client.get(reverse("mail-folder", args=[pharmacy.pk])).status_code in (200, 503)
    assert client.get(reverse("mail-compose", args=[pharmacy.pk])).status_code == 404
    assert (
        client.post(reverse("mail-compose", args=[pharmacy.pk]), {"to": KARIM}).status_code == 404
    )
    assert not Outgoing.objects.exists()


def test_it_prefills_a_reply_with_threading_headers(
    directory: dict[str, Mailbox], marie: User, demo_mail: None
) -> None:
    from tests.integration.helpers import uid_of
    from webmail.demo import messages

    original = next(m for m in messages.MESSAGES if m.key == "01")
    mailbox = directory[MARIE]
    uid = uid_of(mailbox, original.message_id)
    client = client_for(marie)
    page = client.get(
        reverse("mail-compose", args=[mailbox.pk]), {"folder": "INBOX", "reply": uid}
    ).content.decode()
    assert f'value="{original.message_id}"'.replace("<", "&lt;").replace(">", "&gt;") in page
    assert "Re: Compte rendu de consultation cardiologique" in page
    assert "a écrit :" in page and "&gt; Chère consœur," in page
    form = {
        "to": KARIM,
        "subject": "Re: CR",
        "text": "Merci",
        "from_mailbox": str(mailbox.pk),
        "in_reply_to": original.message_id,
        "references": "",
    }
    client.post(reverse("mail-compose", args=[mailbox.pk]), form)
    sent = email.message_from_bytes(bytes(Outgoing.objects.get().raw), policy=default_policy)
    assert sent["In-Reply-To"] == original.message_id
    assert sent["References"] == original.message_id


def test_it_forwards_inline_with_attachments_or_as_an_attachment(
    directory: dict[str, Mailbox], marie: User, demo_mail: None
) -> None:
    from tests.integration.helpers import uid_of
    from webmail.demo import messages

    original = next(m for m in messages.MESSAGES if m.key == "04")  # carries a PDF
    mailbox = directory[MARIE]
    uid = uid_of(mailbox, original.message_id)
    client = client_for(marie)
    url = reverse("mail-compose", args=[mailbox.pk])
    page = client.get(url, {"folder": "INBOX", "forward": uid}).content.decode()
    assert "Tr: Résultats d&#x27;échographie cardiaque" in page
    assert "Message transféré" in page and "FEVG conservée" in page
    form = {
        "to": KARIM,
        "subject": "Tr: écho",
        "text": "Pour avis",
        "from_mailbox": str(mailbox.pk),
        "forward_uid": uid,
        "forward_folder": "INBOX",
        "forward_as": "inline",
    }
    client.post(url, form)
    inline = email.message_from_bytes(bytes(Outgoing.objects.get().raw), policy=default_policy)
    assert [p.get_filename() for p in inline.iter_attachments()] == [original.pdf_name]
    client.post(url, {**form, "forward_as": "attachment"})
    attached = email.message_from_bytes(
        bytes(Outgoing.objects.latest("created").raw), policy=default_policy
    )
    [part] = list(attached.iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    assert part.get_content()["Message-ID"] == original.message_id


def test_it_adds_the_mailbox_signature(directory: dict[str, Mailbox], marie: User) -> None:
    mailbox = directory[MARIE]
    client = client_for(marie)
    settings_url = reverse("admin-mailbox-settings", args=[mailbox.pk])
    client.post(settings_url, {"signature": "Dr Marie Durand\nMédecin généraliste"})
    page = client.get(reverse("mail-compose", args=[mailbox.pk])).content.decode()
    assert "-- \nDr Marie Durand\nMédecin généraliste" in page
    assert AuditEvent.objects.filter(action="mailbox.settings", actor=marie).exists()


def test_it_resumes_a_draft_from_the_drafts_folder(
    directory: dict[str, Mailbox], marie: User
) -> None:
    mailbox = directory[MARIE]
    client = client_for(marie)
    client.post(
        reverse("mail-draft", args=[mailbox.pk]),
        {"to": KARIM, "subject": "À reprendre", "text": "Début du compte rendu"},
    )
    synced(mailbox)
    drafts = client.get(reverse("mail-folder", args=[mailbox.pk]), {"folder": "Drafts"})
    link = re.search(
        r'href="(/mailbox/\d+/compose/\?draft=(\d+))">À reprendre', drafts.content.decode()
    )
    assert link, "a draft opens in the composer"
    page = client.get(link.group(1)).content.decode()
    assert KARIM in page and "Début du compte rendu" in page
    assert f'name="draft_uid" value="{link.group(2)}"' in page
    assert AuditEvent.objects.filter(action="draft.save", actor=marie).exists()


def test_it_masks_patients_in_the_outbox_once_sent(
    worker: None, directory: dict[str, Mailbox], marie: User, listed_outside: None
) -> None:
    # A valid INS (PAT1: the key checks), refused here: outside the test trust space.
    patient = "123456789012311@patient.mssante.fr"
    outgoing = settled(send(marie, directory[MARIE], to=f"{KARIM}, {patient}"))
    wait_until(lambda: Outgoing.objects.get(pk=outgoing.pk).copied_to_sent)
    row = Outgoing.objects.get(pk=outgoing.pk)
    assert row.recipients == [KARIM, "***@patient.mssante.fr"]  # as the audit trail masks
    assert "1234567890123" not in row.error and bytes(row.raw) == b""
    page = client_for(marie).get(reverse("mail-outbox", args=[directory[MARIE].pk]))
    assert "1234567890123" not in page.content.decode()
    # Partly refused: said so, never with the Sent folder's name (issue 15, defect 5).
    assert "Envoyé, sauf à certains destinataires" in page.content.decode()
    assert "Envoyés" not in page.content.decode().split("<tbody>")[1]
    copy = MessageIndex.objects.filter(message_id=outgoing.message_id, folder__mailbox=row.mailbox)
    wait_until(copy.exists)  # the worker syncs Sent after the copy
    page = client_for(marie).get(reverse("mail-outbox", args=[directory[MARIE].pk]))
    assert "Échographie — résultats" in page.content.decode()  # from the copy in Sent


def test_it_lets_a_sender_discard_a_failed_message(
    worker: None, directory: dict[str, Mailbox], marie: User, listed_outside: None
) -> None:
    outgoing = settled(
        send(marie, directory[MARIE], to="dr.house@gmail.com"), Outgoing.Status.FAILED
    )
    client = client_for(marie)
    outbox_page = client.get(reverse("mail-outbox", args=[directory[MARIE].pk])).content.decode()
    discard = reverse("mail-outbox-discard", args=[directory[MARIE].pk, outgoing.pk])
    assert discard in outbox_page
    confirm = client.get(discard)  # asks first
    assert (
        confirm.status_code == 200 and "Supprimer ce message non envoyé" in confirm.content.decode()
    )
    assert Outgoing.objects.filter(pk=outgoing.pk).exists()
    reader = User.objects.create_user("lecteur", subject_name_id="810000000009")
    do_grant_delegation(marie, directory[MARIE], reader, "reader")
    assert client_for(reader).post(discard).status_code == 404
    assert client.post(discard).status_code == 302
    assert not Outgoing.objects.filter(pk=outgoing.pk).exists()
    event = AuditEvent.objects.get(action="message.discard")
    assert (event.actor, event.target) == (marie, outgoing.message_id)


def test_a_reply_all_shows_names_readably_and_quotes_the_local_time(
    directory: dict[str, Mailbox], marie: User
) -> None:
    """Issue 15, defects 2 and 11; issue 11: one module of address and date rules."""
    from tests.integration.helpers import lmtp_deliver

    mailbox = directory[MARIE]
    raw = (
        "From: =?utf-8?q?Dupont=2C_J=C3=A9r=C3=B4me?= <jerome.dupont@hopital-c.mssante.test>\r\n"
        f"To: =?utf-8?q?Marie_Durand?= <{MARIE.upper()}>, =?utf-8?q?=C3=89lodie_Martin?= "
        "<elodie.martin@hopital-c.mssante.test>\r\n"
        f'Cc: "Benali, Karim" <{KARIM}>, jerome.dupont@hopital-c.mssante.test\r\n'
        "Subject: Avis\r\nDate: Tue, 01 Dec 2026 08:27:00 +0000\r\n"
        "Message-ID: <reply-all-names@hopital-c.mssante.test>\r\n\r\nBonjour.\r\n"
    ).encode()
    uid = lmtp_deliver(mailbox, raw, "<reply-all-names@hopital-c.mssante.test>")
    client = client_for(marie)
    url = reverse("mail-compose", args=[mailbox.pk])
    page = client.get(url, {"folder": "INBOX", "reply_all": uid}).content.decode()
    to = re.search(r'name="to"[^>]*value="([^"]*)"', page)
    cc = re.search(r'name="cc"[^>]*value="([^"]*)"', page)
    assert to and cc, page[:3000]
    assert to[1] == "&quot;Dupont, Jérôme&quot; &lt;jerome.dupont@hopital-c.mssante.test&gt;"
    # Once each, never the mailbox itself (whatever its case), never the one replied to.
    assert cc[1] == (
        "Élodie Martin &lt;elodie.martin@hopital-c.mssante.test&gt;, "
        f"&quot;Benali, Karim&quot; &lt;{KARIM}&gt;"
    )
    assert "=?utf-8?" not in page
    assert "01/12/2026 09:27" in page  # Paris time, as the list shows it, not 08:27 UTC
    form = {
        "to": html.unescape(to[1]),
        "cc": html.unescape(cc[1]),
        "subject": "Re: Avis",
        "text": "Merci",
        "from_mailbox": str(mailbox.pk),
    }
    assert client.post(url, form).status_code == 302  # what was prefilled is accepted as is
    sent = email.message_from_bytes(bytes(Outgoing.objects.get().raw), policy=default_policy)
    assert [a.addr_spec for a in sent["To"].addresses] == ["jerome.dupont@hopital-c.mssante.test"]
    assert [a.addr_spec for a in sent["Cc"].addresses] == [
        "elodie.martin@hopital-c.mssante.test",
        KARIM,
    ]


def test_a_queued_message_whose_task_was_lost_is_sent_once_by_the_sweep(
    directory: dict[str, Mailbox], marie: User, settings: Settings
) -> None:
    """Issue 17: a Redis restart (no persistence) took the queued tasks with it, and nothing
    picked their rows up again: "queued" for ever."""
    from datetime import timedelta

    import redis
    from django.utils import timezone

    from mailboxes.tasks import sweep_interrupted_sends

    settings.WEBMAIL_SEND_RETRY_SECONDS = 1
    lost = send(marie, directory[MARIE], subject="Perdu puis retrouvé")  # no worker yet
    fresh = send(marie, directory[MARIE], subject="Tout juste écrit")
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # what a restart leaves
    Outgoing.objects.filter(pk=lost.pk).update(created=timezone.now() - timedelta(minutes=3))
    assert sweep_interrupted_sends() == 1  # the fresh one is not due yet: left alone
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        settled(lost)
        assert sweep_interrupted_sends() == 0  # sent: nothing more to pick up
    assert Outgoing.objects.get(pk=fresh.pk).status == Outgoing.Status.QUEUED
    [requeued] = AuditEvent.objects.filter(action="message.requeue")
    assert requeued.target == lost.message_id
    with imap.imap_session(directory[KARIM]) as client:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["HEADER", "Message-ID", lost.message_id])) == 1


def test_a_failed_copy_to_sent_is_made_later_and_only_once(
    worker: None, directory: dict[str, Mailbox], marie: User
) -> None:
    """Issue 17: the copy in Sent was lost silently when IMAP failed once (no retry), and the
    message's content then stayed in our database for good."""
    from mailboxes.tasks import retry_sent_copies

    mailbox = directory[MARIE]

    def copies(message_id: str) -> int:
        with imap.imap_session(mailbox) as client:
            client.select_folder("Sent", readonly=True)
            return len(client.search(["HEADER", "Message-ID", message_id]))

    # Sent, not copied, content kept: what an IMAP failure at copy time leaves, and what the
    # sweep leaves when a delivery report proves an interrupted send left.
    outgoing = settled(send(marie, mailbox, subject="Copie en attente"))
    wait_until(lambda: Outgoing.objects.get(pk=outgoing.pk).copied_to_sent)
    with imap.imap_session(mailbox) as client:
        client.select_folder("Sent")
        [uid] = client.search(["HEADER", "Message-ID", outgoing.message_id])
        raw = client.fetch([uid], [b"BODY.PEEK[]"])[uid][b"BODY[]"]
        client.delete_messages([uid])
        client.expunge()
    Outgoing.objects.filter(pk=outgoing.pk).update(copied_to_sent=False, raw=raw)
    assert retry_sent_copies() == 1
    after = Outgoing.objects.get(pk=outgoing.pk)
    assert after.copied_to_sent and bytes(after.raw) == b""  # content forgotten once copied
    assert copies(outgoing.message_id) == 1
    assert retry_sent_copies() == 0
    [retried] = AuditEvent.objects.filter(action="message.copy_sent")
    assert (retried.target, retried.outcome) == (outgoing.message_id, "ok")
    # The append went through but its answer was lost: the retry sees the copy, adds none.
    with imap.imap_session(mailbox) as client:
        client.select_folder("Sent", readonly=True)
        [uid] = client.search(["HEADER", "Message-ID", outgoing.message_id])
        raw = client.fetch([uid], [b"BODY.PEEK[]"])[uid][b"BODY[]"]
    Outgoing.objects.filter(pk=outgoing.pk).update(copied_to_sent=False, raw=raw)
    assert retry_sent_copies() == 1
    assert copies(outgoing.message_id) == 1
    assert Outgoing.objects.get(pk=outgoing.pk).copied_to_sent


def test_it_keeps_a_drafts_attachments_when_reopened_and_sent(
    directory: dict[str, Mailbox], marie: User
) -> None:
    """Issue 15 defect 6: files chosen go into the draft; reopened from Brouillons, the draft
    lists them (ticked), keeps them while typing and sends them; unticked, they go."""
    mailbox = directory[MARIE]
    client = client_for(marie)
    save = reverse("mail-draft", args=[mailbox.pk])
    pdf = SimpleUploadedFile("bilan sanguin.pdf", PDF, "application/pdf")
    saved = client.post(save, {"to": KARIM, "subject": "Avec PJ", "text": "x", "attachments": pdf})
    assert "data-stored-files" in saved.content.decode()
    assert "bilan sanguin.pdf" in saved.content.decode()  # listed with the draft at once

    def draft_uid(html: str) -> str:
        found = re.search(r'name="draft_uid" value="(\d+)"', html)
        assert found
        return found.group(1)

    def draft_files(uid: str) -> list[str | None]:
        folder = imap.special_folder(mailbox, "\\Drafts")
        msg = fetch_uid(mailbox, folder or "Drafts", int(uid))
        return [p.get_filename() for p in msg.iter_attachments()]

    first = draft_uid(saved.content.decode())
    assert draft_files(first) == ["bilan sanguin.pdf"]
    page = client.get(reverse("mail-compose", args=[mailbox.pk]), {"draft": first}).content.decode()
    assert re.search(r'name="keep_attachment" value="0" checked> bilan sanguin.pdf', page)
    typed = client.post(
        save,
        {
            "to": KARIM,
            "subject": "Avec PJ",
            "text": "xy",
            "draft_uid": first,
            "keep_attachment": "0",
        },
    )
    second = draft_uid(typed.content.decode())
    assert second != first and draft_files(second) == ["bilan sanguin.pdf"]
    sent = client.post(
        reverse("mail-compose", args=[mailbox.pk]),
        {"to": KARIM, "subject": "Avec PJ", "text": "xy", "from_mailbox": str(mailbox.pk),
         "draft_uid": second, "keep_attachment": "0"},
    )  # fmt: skip
    assert sent.status_code == 302
    message = email.message_from_bytes(bytes(Outgoing.objects.get().raw), policy=default_policy)
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "bilan sanguin.pdf" and part.get_content() == PDF

    again = client.post(save, {"to": KARIM, "subject": "Sans", "attachments": pdf})
    unticked = client.post(save, {"to": KARIM, "draft_uid": draft_uid(again.content.decode())})
    assert draft_files(draft_uid(unticked.content.decode())) == []
