"""The reader (sanitised HTML, images, attachments, raw) and actions, on the real Dovecot."""

from __future__ import annotations

import base64
import os
import re
import uuid
from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse

from mailboxes.mailcache import cache
from mailboxes.models import AuditEvent, Mailbox, MessageIndex, User
from mailboxes.operator import imap
from tests.conftest import client_for
from tests.integration.helpers import deliver_to, flags_of, in_folder, synced, uid_of

pytestmark = pytest.mark.integration
JEANNE = "jeanne.lefevre@operateur-a.mssante.test"
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
HOSTILE = """<html><head><meta http-equiv="refresh" content="0;url=https://evil.example/">
<base href="https://evil.example/"><style>@import url(https://evil.example/x.css);
p{background:url(https://evil.example/bg.png)}</style></head>
<body onload="fetch('https://evil.example/onload')"><p style="color:red;background-image:url(https://evil.example/b)">
Ordonnance</p><script>fetch("https://evil.example/script")</script>
<img src="x" onerror="fetch('https://evil.example/onerror')"><img src="https://tracker.example/pixel.gif">
<img src="cid:logo@demo"><a href="javascript:parent.pwned=3">lien</a>
<svg><script>parent.pwned=4</script><animate onbegin="parent.pwned=5"/></svg>
<form action="https://evil.example/"><input name="x"></form>
<iframe src="https://evil.example/"></iframe><object data="https://evil.example/o"></object>
<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="></body></html>"""


def hostile_message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Résultats"
    message.set_content("Version texte")
    message.add_alternative(HOSTILE, subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(PIXEL, maintype="image", subtype="png", cid="<logo@demo>")
    return message


def body_of(client: Client, page_html: str) -> tuple[str, str]:
    frame = re.search(r'<iframe class="body"[^>]* src="([^"]+)"', page_html)
    assert frame, page_html
    response = client.get(frame.group(1).replace("&amp;", "&"))
    return response.content.decode(), response["Content-Security-Policy"]


def test_it_sanitises_hostile_html_and_blocks_remote_content(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    uid = deliver_to(jeanne_mailbox, hostile_message())
    client = client_for(jeanne)
    page = client.get(reverse("mail-message", args=[jeanne_mailbox.pk, uid])).content.decode()
    assert "1 image distante a été bloquée" in page
    body, csp = body_of(client, page)
    assert "Ordonnance" in body
    for banned in (
        "<script",
        "onload",
        "onbegin",
        "javascript:",
        "evil.example",
        "tracker.example",
        "<iframe",
        "<form",
        "<object",
        "<base",
        "<meta http-equiv",
        "@import",
        "url(",
        "<svg",
        "data:image/svg",
    ):
        assert banned not in body, banned
    assert "default-src 'none'" in csp and "img-src 'self' data:;" in csp
    # The inline image is served by us, from the message's own part.
    cid = re.search(r'<img src="([^"]+)"', body)
    assert cid and "/part/" in cid.group(1)
    image = client.get(cid.group(1).replace("&amp;", "&"))
    assert image["Content-Type"] == "image/png" and image.content == PIXEL
    assert image["Content-Security-Policy"].endswith("; sandbox")
    # Remote images only when the person asks, for this message.
    shown, csp = body_of(
        client,
        client.get(
            reverse("mail-message", args=[jeanne_mailbox.pk, uid]), {"images": "1"}
        ).content.decode(),
    )
    assert "https://tracker.example/pixel.gif" in shown and "https:" in csp
    assert "evil.example" not in shown


def test_it_round_trips_attachments_byte_for_byte_with_french_names(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    message = EmailMessage()
    message["Subject"] = "Pièces jointes"
    message.set_content("Voir PJ")
    payload = bytes(range(256)) * 40
    message.add_attachment(
        payload, maintype="application", subtype="pdf", filename="compte-rendu échographie.pdf"
    )
    message.add_attachment(
        b"<svg onload=alert(1)/>", maintype="image", subtype="svg+xml", filename="schéma.svg"
    )
    uid = deliver_to(jeanne_mailbox, message)
    client = client_for(jeanne)
    page = client.get(reverse("mail-message", args=[jeanne_mailbox.pk, uid])).content.decode()
    links = re.findall(r'href="(/mailbox/\d+/message/\d+/part/\d+/\?folder=INBOX)"', page)
    assert len(links) == 2
    pdf = client.get(links[0])
    assert pdf.content == payload
    assert pdf["Content-Type"] == "application/octet-stream"
    assert pdf["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''compte-rendu%20%C3%A9chographie.pdf" in pdf["Content-Disposition"]
    preview = client.get(links[0] + "&inline=1")
    assert preview["Content-Type"] == "application/pdf"
    assert preview["Content-Disposition"].startswith("inline")
    svg = client.get(links[1] + "&inline=1")  # never shown inline: it could carry a script
    assert svg["Content-Type"] == "application/octet-stream"
    assert svg["Content-Disposition"].startswith("attachment")
    raw = client.get(reverse("mail-raw", args=[jeanne_mailbox.pk, uid]), {"folder": "INBOX"})
    assert raw["Content-Type"] == "message/rfc822"
    assert f"Message-ID: {message['Message-ID']}".encode() in raw.content
    downloads = AuditEvent.objects.filter(action="message.download", mailbox=jeanne_mailbox)
    assert downloads.count() == 3  # two attachments and the .eml; previews are not downloads


def test_it_lists_folders_by_special_use_with_unread_counts(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    message = EmailMessage()
    message["Subject"] = "Non lu"
    message.set_content("x")
    deliver_to(jeanne_mailbox, message)
    synced(jeanne_mailbox)
    folders = cache.folders(jeanne_mailbox)
    assert [f.name for f in folders][:6] == ["INBOX", "Drafts", "Sent", "Archive", "Junk", "Trash"]
    assert folders[0].unseen >= 1
    page = client_for(jeanne).get(reverse("mail-folder", args=[jeanne_mailbox.pk]))
    html = page.content.decode()
    for label in (
        "Boîte de réception",
        "Brouillons",
        "Envoyés",
        "Archives",
        "Indésirables",
        "Corbeille",
    ):
        assert label in html, label


def test_it_sorts_and_filters_unread(jeanne: User, jeanne_mailbox: Mailbox) -> None:
    uids = []
    for subject in ("Bravo", "Alpha", "Charlie"):
        message = EmailMessage()
        message["Subject"] = f"Tri {subject} {uuid.uuid4().hex[:6]}"
        message.set_content("x")
        uids.append(deliver_to(jeanne_mailbox, message))
    ascending = imap.list_folder(
        jeanne_mailbox, "INBOX", 1, 500, imap.Listing(sort="subject", descending=False)
    )
    tri = [e.subject.split()[1] for e in ascending.envelopes if e.subject.startswith("Tri ")]
    assert tri == sorted(tri)
    client = client_for(jeanne)
    client.get(reverse("mail-message", args=[jeanne_mailbox.pk, uids[0]]))  # now read
    unread = imap.list_folder(jeanne_mailbox, "INBOX", 1, 500, imap.Listing(unread_only=True))
    assert uids[0] not in {e.uid for e in unread.envelopes}
    assert {uids[1], uids[2]} <= {e.uid for e in unread.envelopes}


def test_it_flags_archives_deletes_and_empties_the_trash(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    client = client_for(jeanne)
    action = reverse("mail-actions", args=[jeanne_mailbox.pk])
    made = []
    for n in range(3):
        message = EmailMessage()
        message["Subject"] = f"Action {n}"
        message.set_content("x")
        made.append((message, deliver_to(jeanne_mailbox, message)))
    (_, first), (second_msg, second), (third_msg, third) = made
    synced(jeanne_mailbox)
    cached = MessageIndex.objects.filter(folder__mailbox=jeanne_mailbox, folder__name="INBOX")
    client.post(action, {"folder": "INBOX", "uid": [first], "action": "flag"})
    client.post(action, {"folder": "INBOX", "uid": [first], "action": "unread"})
    flags = flags_of(jeanne_mailbox, first)
    assert b"\\Flagged" in flags and b"\\Seen" not in flags
    assert cached.filter(uid=first, flagged=True, seen=False).exists()  # the list agrees now
    client.post(action, {"folder": "INBOX", "uid": [second], "action": "archive"})
    client.post(action, {"folder": "INBOX", "uid": [third], "action": "delete"})
    assert not cached.filter(uid__in=[second, third]).exists()  # gone from the list at once
    assert uid_of(jeanne_mailbox, second_msg["Message-ID"], folder="Archive")
    trashed = uid_of(jeanne_mailbox, third_msg["Message-ID"], folder="Trash")
    assert not in_folder(jeanne_mailbox, third_msg["Message-ID"])
    empty = reverse("mail-empty-trash", args=[jeanne_mailbox.pk])
    assert "définitivement" in client.get(empty).content.decode()
    assert trashed and imap.list_folder(jeanne_mailbox, "Trash", 1, 10).total >= 1
    synced(jeanne_mailbox)
    client.post(empty)
    assert imap.list_folder(jeanne_mailbox, "Trash", 1, 10).total == 0
    assert not MessageIndex.objects.filter(folder__mailbox=jeanne_mailbox, folder__name="Trash")
    actions = list(
        AuditEvent.objects.filter(mailbox=jeanne_mailbox).values_list("action", flat=True)
    )
    for expected in (
        "message.flag",
        "message.unread",
        "message.archive",
        "message.delete",
        "trash.empty",
    ):
        assert expected in actions
    moved = AuditEvent.objects.get(action="message.archive")
    assert moved.target == f"INBOX/{second}" and moved.response == "move to Archive"


def test_it_keeps_the_message_when_an_action_fails(jeanne: User, jeanne_mailbox: Mailbox) -> None:
    message = EmailMessage()
    message["Subject"] = "Garde"
    message.set_content("x")
    uid = deliver_to(jeanne_mailbox, message)
    client = client_for(jeanne)
    action = reverse("mail-actions", args=[jeanne_mailbox.pk])
    page = client.post(
        action, {"folder": "INBOX", "uid": [uid], "action": "move", "target": "Nulle part"}
    )
    assert page.status_code == 400
    assert in_folder(jeanne_mailbox, message["Message-ID"])
    assert AuditEvent.objects.get(action="message.move").outcome == "error"


def test_an_opened_message_serves_its_frame_and_parts_from_a_capped_cache(
    jeanne: User, jeanne_mailbox: Mailbox, settings: object
) -> None:
    def with_pdf(subject: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject
        message.set_content("Texte")
        message.add_alternative("<p>Compte rendu joint.</p>", subtype="html")
        message.add_attachment(
            b"%PDF-1.4 cr", maintype="application", subtype="pdf", filename="cr.pdf"
        )
        return message

    small = deliver_to(jeanne_mailbox, with_pdf("Petit"))
    synced(jeanne_mailbox)  # the cache knows the folder's UIDVALIDITY
    client = client_for(jeanne)
    page = client.get(reverse("mail-message", args=[jeanne_mailbox.pk, small])).content.decode()
    part = re.search(r'href="(/mailbox/\d+/message/\d+/part/\d+/\?folder=INBOX)"', page)
    assert part
    settings.OPERATOR_IMAP_PORT = 1  # type: ignore[attr-defined]  # the operator is gone
    html, _ = body_of(client, page)
    assert "Compte rendu joint." in html  # one fetch served the page, its frame and its PDF
    assert client.get(part.group(1)).content == b"%PDF-1.4 cr"
    settings.OPERATOR_IMAP_PORT = int(os.environ["OPERATOR_IMAP_PORT"])  # type: ignore[attr-defined]
    settings.WEBMAIL_BODY_CACHE_BYTES = 100  # type: ignore[attr-defined]  # too big to keep
    big = deliver_to(jeanne_mailbox, with_pdf("Trop grand"))
    page = client.get(reverse("mail-message", args=[jeanne_mailbox.pk, big])).content.decode()
    settings.OPERATOR_IMAP_PORT = 1  # type: ignore[attr-defined]
    frame = re.search(r'<iframe class="body"[^>]* src="([^"]+)"', page)
    assert frame and client.get(frame.group(1).replace("&amp;", "&")).status_code == 503


def test_it_unflags_and_deletes_for_good_inside_the_trash(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    """Issue 15 defect 9: a flag can be removed ("Ne plus suivre"); "Supprimer" inside the
    Trash deletes for good, after confirmation, instead of doing nothing."""
    message = EmailMessage()
    message["Subject"] = "Suivi puis corbeille"
    message.set_content("x")
    uid = deliver_to(jeanne_mailbox, message)
    synced(jeanne_mailbox)
    client = client_for(jeanne)
    action = reverse("mail-actions", args=[jeanne_mailbox.pk])
    reader = reverse("mail-message", args=[jeanne_mailbox.pk, uid])
    client.post(action, {"folder": "INBOX", "uid": [uid], "action": "flag"})
    assert "Ne plus suivre" in client.get(reader).content.decode()
    client.post(action, {"folder": "INBOX", "uid": [uid], "action": "unflag"})
    assert b"\\Flagged" not in flags_of(jeanne_mailbox, uid)
    assert 'value="flag"' in client.get(reader).content.decode()

    client.post(action, {"folder": "INBOX", "uid": [uid], "action": "delete"})
    trashed = uid_of(jeanne_mailbox, message["Message-ID"], folder="Trash")
    synced(jeanne_mailbox)
    in_trash = client.get(reader.replace(f"/{uid}/", f"/{trashed}/"), {"folder": "Trash"})
    assert "Supprimer définitivement" in in_trash.content.decode()
    asked = client.post(action, {"folder": "Trash", "uid": [trashed], "action": "delete"})
    assert asked.status_code == 200 and "définitivement ?" in asked.content.decode()
    assert in_folder(jeanne_mailbox, message["Message-ID"], folder="Trash")  # not yet
    done = client.post(
        action, {"folder": "Trash", "uid": [trashed], "action": "delete", "confirmed": "1"}
    )
    assert done.status_code == 302
    assert not in_folder(jeanne_mailbox, message["Message-ID"], folder="Trash")
    assert AuditEvent.objects.get(action="message.expunge").target == f"Trash/{trashed}"


def test_it_shows_the_text_part_when_the_cleaned_html_is_empty(
    jeanne: User, jeanne_mailbox: Mailbox
) -> None:
    """Issue 15 defect 13: an HTML part that cleans to nothing (style and script only) no
    longer leaves a blank frame when a plain-text part exists."""
    message = EmailMessage()
    message["Subject"] = "HTML vide"
    message.set_content("Le texte du compte rendu.")
    message.add_alternative(
        "<html><head><style>p{}</style></head><body><script>x()</script>&nbsp;</body></html>",
        subtype="html",
    )
    uid = deliver_to(jeanne_mailbox, message)
    page = client_for(jeanne).get(reverse("mail-message", args=[jeanne_mailbox.pk, uid]))
    html = page.content.decode()
    assert '<iframe class="body"' not in html
    assert "Le texte du compte rendu." in html
