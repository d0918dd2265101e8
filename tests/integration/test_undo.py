"""Undo of a move or a deletion, a few seconds after it (issue 15), on the real Dovecot:
the messages come back from where they went, by the UIDs the server gave (COPYUID), for a
person still allowed to move them, once, and audited."""

from __future__ import annotations

import os
import re
import time
import uuid
from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import Settings

from mailboxes.models import AuditEvent, Delegation, Mailbox, User
from mailboxes.operator import imap
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, in_folder, synced
from webmail.views import undo

pytestmark = pytest.mark.integration


def note(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message.set_content("x")
    return message


def act(client: Client, mailbox: Mailbox, uids: list[int], action: str, **more: str) -> str:
    """Post an action from the list, follow back to it; the list's page."""
    url = reverse("mail-actions", args=[mailbox.pk])
    data = {"folder": "INBOX", "uid": uids, "action": action, **more}
    return client.post(url, data, follow=True).content.decode()


def toast_of(page: str) -> tuple[str, str]:
    found = re.search(
        r'<div class="toast" id="undo-toast" role="status" data-seconds="(\d+)">\s*'
        r'<span class="toast-text">([^<]*)</span>.*?name="token" value="([^"]+)"',
        page,
        re.S,
    )
    assert found, "no undo toast"
    assert 3 <= int(found.group(1)) <= undo.SHOWN_SECONDS
    return found.group(2), found.group(3)


def undone(client: Client, mailbox: Mailbox, token: str) -> str:
    url = reverse("mail-undo", args=[mailbox.pk])
    return client.post(url, {"token": token}, follow=True).content.decode()


def test_a_deletion_is_undone_from_its_toast_once_and_audited(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    messages = [note("Ordonnance à corriger"), note("Courrier de sortie")]
    uids = [deliver_to(jeanne_mailbox, m) for m in messages]
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    page = act(client, jeanne_mailbox, uids, "delete")
    text, token = toast_of(page)
    assert text == "2 messages déplacés dans la corbeille."
    assert ">Annuler</button>" in page and 'data-shortcut="z"' in page
    assert not any(in_folder(jeanne_mailbox, m["Message-ID"]) for m in messages)
    page = undone(client, jeanne_mailbox, token)
    assert "Annulé : 2 messages sont de retour dans « Boîte de réception »." in page
    assert 'id="undo-toast"' not in page
    for message in messages:
        assert in_folder(jeanne_mailbox, message["Message-ID"])
        assert not in_folder(jeanne_mailbox, message["Message-ID"], folder="Trash")
    event = AuditEvent.objects.get(action="message.undo")
    assert event.actor == jeanne and event.outcome == "ok"
    assert re.fullmatch(r"Trash/\d+,\d+ -> INBOX", event.target), event.target
    assert event.response == "2 back in INBOX"
    again = undone(client, jeanne_mailbox, token)  # once only
    assert "Il n’y a rien à annuler." in again
    assert AuditEvent.objects.filter(action="message.undo").count() == 1


def test_archive_and_move_are_undone_too_and_say_where_they_went(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    archived, moved = note("Archivé par erreur"), note("Déplacé par erreur")
    first = deliver_to(jeanne_mailbox, archived)
    second = deliver_to(jeanne_mailbox, moved)
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    text, token = toast_of(act(client, jeanne_mailbox, [first], "archive"))
    assert text == "Message archivé."
    assert "Annulé : le message est de retour" in undone(client, jeanne_mailbox, token)
    assert in_folder(jeanne_mailbox, archived["Message-ID"])
    text, token = toast_of(act(client, jeanne_mailbox, [second], "move", target="Junk"))
    assert text == "Message déplacé dans « Indésirables »."
    undone(client, jeanne_mailbox, token)
    assert in_folder(jeanne_mailbox, moved["Message-ID"])
    assert not in_folder(jeanne_mailbox, moved["Message-ID"], folder="Junk")


def test_an_undo_comes_too_late_after_its_seconds(jeanne: User, jeanne_mailbox: Mailbox) -> None:
    message = note("Supprimé pour de bon ?")
    uid = deliver_to(jeanne_mailbox, message)
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    _, token = toast_of(act(client, jeanne_mailbox, [uid], "delete"))
    session = client.session
    kept = session[undo.SESSION_KEY]
    kept["at"] = time.time() - undo.SHOWN_SECONDS - 1
    session[undo.SESSION_KEY] = kept
    session.save()
    later = client.get(reverse("mail-folder", args=[jeanne_mailbox.pk])).content.decode()
    assert 'id="undo-toast"' not in later  # its seconds are over
    kept["at"] = time.time() - undo.KEPT_SECONDS - 1
    session[undo.SESSION_KEY] = kept
    session.save()
    assert "Trop tard pour annuler" in undone(client, jeanne_mailbox, token)
    assert in_folder(jeanne_mailbox, message["Message-ID"], folder="Trash")  # stays there
    assert not AuditEvent.objects.filter(action="message.undo").exists()


def test_a_revoked_delegate_cannot_undo_and_no_one_else_can_use_the_token(
    jeanne: User, directory: dict[str, Mailbox]
) -> None:
    pharmacy = directory["pharmacie.marche@operateur-a.mssante.test"]
    secretary = User.objects.create_user(
        "secretaire-undo", email="sec@pharmacie-marche.test", subject_name_id="810000000099"
    )
    delegation = Delegation.objects.create(person=secretary, mailbox=pharmacy, role="triage")
    message = note("Au secrétariat")
    uid = deliver_to(pharmacy, message)
    synced(pharmacy)
    client = client_for(secretary)
    _, token = toast_of(act(client, pharmacy, [uid], "delete"))
    stranger = client_for(jeanne)  # the pharmacy's manager, but not her move
    assert "Il n’y a rien à annuler." in undone(stranger, pharmacy, token)
    delegation.revoked_at = timezone.now()
    delegation.save()
    answer = client.post(reverse("mail-undo", args=[pharmacy.pk]), {"token": token})
    assert answer.status_code == 404
    assert in_folder(pharmacy, message["Message-ID"], folder="Trash")
    assert AuditEvent.objects.filter(action="access.move", actor=secretary).exists()
    assert not AuditEvent.objects.filter(action="message.undo").exists()


def test_messages_moved_on_meanwhile_stay_where_they_are(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    message = note("Déjà reclassé ailleurs")
    uid = deliver_to(jeanne_mailbox, message)
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    _, token = toast_of(act(client, jeanne_mailbox, [uid], "delete"))
    [in_trash] = imap.uids_by_message_id(jeanne_mailbox, "Trash", [message["Message-ID"]])[1]
    imap.move(jeanne_mailbox, "Trash", [in_trash], "Archive")  # a colleague, another client
    page = undone(client, jeanne_mailbox, token)
    assert "Rien n’a été remis en place" in page
    assert in_folder(jeanne_mailbox, message["Message-ID"], folder="Archive")
    assert AuditEvent.objects.get(action="message.undo").response == "0 back in INBOX"


def test_the_server_says_where_a_move_put_each_message(jeanne_mailbox: Mailbox) -> None:
    """COPYUID from Dovecot's MOVE, and the search by Message-ID for a server without it."""
    ids = [f"<{uuid.uuid4()}@hopital-c.mssante.test>" for _ in range(2)]
    uids = []
    for message_id in ids:
        message = note("Déplacé")
        uids.append(deliver_to(jeanne_mailbox, message))
        ids[ids.index(message_id)] = message["Message-ID"]
    copied = imap.move(jeanne_mailbox, "INBOX", uids, "Archive")
    assert sorted(copied.uids) == sorted(uids) and copied.uidvalidity
    found = imap.uids_by_message_id(jeanne_mailbox, "Archive", ids)
    assert found == (copied.uidvalidity, sorted(copied.uids.values()))
    with pytest.raises(imap.OperatorRefused):  # an undo after the folder was rebuilt
        imap.move(jeanne_mailbox, "Archive", found[1], "INBOX", uidvalidity=found[0] + 1)
    assert all(in_folder(jeanne_mailbox, message_id, folder="Archive") for message_id in ids)


def test_deleting_for_good_in_the_trash_asks_first_and_offers_no_undo(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    message = note("À supprimer définitivement")
    deliver_to(jeanne_mailbox, message)
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    [uid] = imap.uids_by_message_id(jeanne_mailbox, "INBOX", [message["Message-ID"]])[1]
    act(client, jeanne_mailbox, [uid], "delete")
    [trashed] = imap.uids_by_message_id(jeanne_mailbox, "Trash", [message["Message-ID"]])[1]
    url = reverse("mail-actions", args=[jeanne_mailbox.pk])
    asked = client.post(url, {"folder": "Trash", "uid": [trashed], "action": "delete"})
    assert "définitivement ?" in asked.content.decode()
    done = client.post(
        url,
        {"folder": "Trash", "uid": [trashed], "action": "delete", "confirmed": "1"},
        follow=True,
    ).content.decode()
    assert 'id="undo-toast"' not in done  # nothing to undo: it is gone for good
    assert not in_folder(jeanne_mailbox, message["Message-ID"], folder="Trash")


def test_an_undo_the_operator_cannot_do_says_so_and_is_audited_as_an_error(
    jeanne: User, jeanne_mailbox: Mailbox, settings: Settings
) -> None:
    message = note("Pendant une panne")
    uid = deliver_to(jeanne_mailbox, message)
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    _, token = toast_of(act(client, jeanne_mailbox, [uid], "delete"))
    settings.OPERATOR_IMAP_PORT = 1
    page = undone(client, jeanne_mailbox, token)
    assert '<div class="banner error" role="alert">Le déplacement n’a pas pu être annulé' in page
    assert "Les messages sont toujours dans « Corbeille »." in page
    assert AuditEvent.objects.get(action="message.undo").outcome == "error"
    settings.OPERATOR_IMAP_PORT = int(os.environ["OPERATOR_IMAP_PORT"])
    assert in_folder(jeanne_mailbox, message["Message-ID"], folder="Trash")
