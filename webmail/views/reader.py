"""The reader: a message, its sandboxed HTML body, its parts and its raw source."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import TypeVar

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin

from mailboxes import access, audit
from mailboxes.access import Action
from mailboxes.actions import reading
from mailboxes.errors import FolderMissing, OperatorUnavailable
from mailboxes.mail import mime, receipts
from mailboxes.mailcache import cache
from mailboxes.models import Mailbox, MessageIndex, Receipt
from webmail import rendering, snapshots
from webmail.http import AuthedRequest
from webmail.views import triage
from webmail.views.mail import audit_operator_login, folder_of, list_query, listing_of

T = TypeVar("T")

# Types a browser may show from our origin without risk (never SVG, never HTML).
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
# The frame is same-origin so that the reader can size it to its content (static/js/reader.js);
# the body's own sandbox (no allow-scripts) keeps it script-free even opened on its own.
BODY_CSP = (
    "default-src 'none'; img-src 'self' data:{remote}; style-src 'unsafe-inline'; "
    "font-src data:; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; "
    "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox"
)
# Attachments listed on the page; the rest are counted (a hostile message may have 10,000,
# and the page would take seconds to render and weigh megabytes).
LISTED_ATTACHMENTS = 500
PART_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def opened(request: HttpRequest, mailbox: Mailbox, fetching: Callable[[], T]) -> T:
    """Run a fetch from the operator: a message or folder that is not there is a 404; the
    operator's logins are audited (CONF.17: every failure, the first success per session)."""
    try:
        found = fetching()
    except (FolderMissing, reading.NotThere):
        audit_operator_login(request, mailbox)
        raise Http404 from None
    except OperatorUnavailable as exc:
        audit_operator_login(request, mailbox, exc)
        raise
    audit_operator_login(request, mailbox)
    return found


def load(request: HttpRequest, mailbox: Mailbox, folder: str, uid: int) -> bytes:
    """The raw message, not marked read: from the reader's short-lived cache, else the
    operator."""
    return opened(request, mailbox, lambda: reading.peek(mailbox, folder, uid))


def in_pane(request: HttpRequest) -> bool:
    """Asked by a list's reading pane (htmx names the element it fills): the message alone,
    without the page around it."""
    return request.headers.get("HX-Target") == "reader-pane"


def reader_page(
    request: HttpRequest, context: dict[str, object], status: int = 200
) -> HttpResponse:
    """The reader's answer: its own page, or the same message for the reading pane."""
    pane = in_pane(request)
    context = {**context, "pane": pane, "htmx_loaded": pane}
    if pane:  # the triage forms in the pane lead back to the list, not to a bare message
        context["back_to"] = context.get("list_url", "")
    template = "components/message_pane.html" if pane else "mail/message.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Target"])
    return response


def unavailable(request: HttpRequest, mailbox: Mailbox, folder: str) -> HttpResponse:
    context = {"mailbox": mailbox, "folder": folder, "unavailable": True}
    context |= places(request, mailbox, folder, None)
    return reader_page(request, context, status=503)


def places(
    request: HttpRequest,
    mailbox: Mailbox,
    folder: str,
    uid: int | None,
    row: MessageIndex | None = None,
) -> dict[str, object]:
    """Where the reader leads: back to the list as it was shown (order, filter), and the
    messages listed just before and after this one there."""
    listing = listing_of(request)
    query = list_query(folder, listing)
    prefix = reverse("mail-folder", args=[mailbox.pk])
    found: dict[str, object] = {"list_url": f"{prefix}?{query}"}
    if uid is None:
        return found
    kept = cache.places(mailbox, folder, uid, listing, row)
    previous, following = kept.previous, kept.following
    found["message_url"] = f"{prefix}message/{uid}/?{query}"
    found["folders"] = kept.folders
    found["in_trash"] = any(f.name == folder and f.special_use == "\\Trash" for f in kept.folders)
    found["conversation"] = conversation_of(row, kept.thread_size)
    found["previous_url"] = f"{prefix}message/{previous}/?{query}" if previous else ""
    found["next_url"] = f"{prefix}message/{following}/?{query}" if following else ""
    return found


@login_required
def message(request: AuthedRequest, mailbox_id: int, uid: int) -> HttpResponse:
    """A message, opened (read, audited): on its own page or in a list's reading pane."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    folder = folder_of(request)
    row = reading.row_of(mailbox, folder, uid)
    kept = snapshots.get(mailbox, row)
    try:
        contacted = kept is None or (row is not None and not row.seen)
        opening = reading.do_read_message(
            request.user, mailbox, folder, uid, request, row=row, content_known=kept is not None
        )  # a message read already and kept: the operator is not contacted at all
        if contacted:
            audit_operator_login(request, mailbox)
    except (FolderMissing, reading.NotThere):
        audit_operator_login(request, mailbox)
        raise Http404 from None
    except OperatorUnavailable as exc:
        audit_operator_login(request, mailbox, exc)
        return unavailable(request, mailbox, folder)
    if (parsed := opening.parsed) is not None:
        kept = snapshots.build(
            parsed, (mailbox, folder, uid), lambda index: part_url(mailbox, folder, uid, index)
        )
        snapshots.keep(mailbox, row, kept)
    assert kept is not None  # noqa: S101 - kept, or built from the source just fetched
    shown = kept.message
    images = request.GET.get("images") == "1"
    rendered = kept.html
    if rendered is not None and images:
        rendered = html_of(mailbox, folder, uid, mime.parse(load(request, mailbox, folder, uid)))
    query = {"folder": folder, **({"images": "1"} if images else {})}
    if row is not None and row.folder.uidvalidity and not images:
        query["t"] = snapshots.body_token(request, mailbox, row)  # the frame needs no look-up
    body_url = reverse("mail-body", args=[mailbox.pk, uid]) + "?" + urlencode(query)
    blocked = rendered.blocked_remote if rendered is not None and not images else 0
    # Nothing to see in the cleaned HTML (and no image held back): the text part instead.
    shows_html = rendered is not None and not (rendered.empty and not rendered.blocked_remote)
    context = {
        "mailbox": mailbox,
        "folder": folder,
        "message": shown,
        "attachments": shown.attachments[:LISTED_ATTACHMENTS],
        "more_attachments": max(len(shown.attachments) - LISTED_ATTACHMENTS, 0),
        "uid": uid,
        "body_url": body_url if shows_html else "",
        "blocked_images": blocked,
        "images": images,
        "can_triage": Action.TRIAGE in mailbox.allowed,
        "can_send": Action.SEND in mailbox.allowed,
        "can_manage": Action.MANAGE in mailbox.allowed,
        "flagged": b"\\Flagged" in opening.flags,
        "mdn": mdn_offer(shown, opening.flags, mailbox, request),
        "receipts": receipts_of(mailbox, shown),
        "triage": triage.panel_of_message(request, mailbox, row.thread_key if row else ""),
        "documents": kept.documents,  # XDM-R11, HDR-IN, PAT4
    }
    return reader_page(request, context | places(request, mailbox, folder, uid, row))


def mdn_offer(
    parsed: mime.ParsedMessage,
    flags: tuple[bytes, ...],
    mailbox: Mailbox,
    request: HttpRequest,
) -> dict[str, object] | None:
    """A read report asked for and not yet sent: what the banner needs, else None."""
    asked, differs = receipts.mdn_request(parsed)
    if not asked or receipts.MDN_SENT in flags:
        return None
    if Action.SEND not in mailbox.allowed:
        return None
    return {"to": asked, "differs": differs}


@login_required
def send_mdn(request: AuthedRequest, mailbox_id: int, uid: int) -> HttpResponse:
    """Send a read report, because the person clicked (never automatically)."""
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    folder = folder_of(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        opened(
            request,
            mailbox,
            lambda: reading.do_send_mdn(request.user, mailbox, folder, uid, request),
        )
    except OperatorUnavailable:
        return unavailable(request, mailbox, folder)
    url = reverse("mail-message", args=[mailbox.pk, uid])
    return redirect(f"{url}?{urlencode({'folder': folder})}")


def receipts_of(mailbox: Mailbox, parsed: mime.ParsedMessage) -> list[Receipt]:
    """What came back about a message we sent ("Remis à…", "Lu par…"), shown on its copy in
    Sent too, not only in the outbox."""
    if not parsed.message_id or mailbox.address.lower() not in parsed.from_.lower():
        return []  # only what this mailbox sent has receipts
    return list(
        Receipt.objects.filter(
            outgoing__mailbox=mailbox, outgoing__message_id=parsed.message_id.strip()
        ).order_by("received")
    )


def conversation_of(row: MessageIndex | None, count: int) -> dict[str, object] | None:
    """The message's conversation, when the cache knows it has more than this message
    (`count`: its size, cache.places)."""
    if row is None or not row.thread_key:
        return None
    return {"key": row.thread_key, "count": count} if count > 1 else None


def part_url(mailbox: Mailbox, folder: str, uid: int, index: int) -> str:
    base = reverse("mail-part", args=[mailbox.pk, uid, index])
    return f"{base}?{urlencode({'folder': folder, 'inline': '1'})}"


def html_of(
    mailbox: Mailbox, folder: str, uid: int, parsed: mime.ParsedMessage
) -> rendering.Rendered:
    """The HTML body with remote images allowed (the person asked, for this message)."""
    msg = parsed.msg
    if parsed.html_index is None or mime.part_at(msg, parsed.html_index) is None:
        return rendering.Rendered(html="", blocked_remote=0, empty=True)
    return html_part(mailbox, folder, uid, msg, parsed.html_index, True)


def html_part(
    mailbox: Mailbox, folder: str, uid: int, msg: EmailMessage, index: int, images: bool
) -> rendering.Rendered:
    return rendering.render(
        mime.part_text_of(msg, index),
        lambda index: part_url(mailbox, folder, uid, index),
        mime.content_ids(msg),
        allow_remote=images,
    )


def html_index_asked(request: HttpRequest, parsed: mime.ParsedMessage) -> int | None:
    """The HTML part the frame shows: the message's own, or (?part=) that of a message
    attached to it, which must be an HTML leaf of this message."""
    asked = request.GET.get("part", "")
    if not asked:
        return parsed.html_index
    index = int(asked) if asked.isdigit() else -1
    found = mime.part_at(parsed.msg, index)
    return index if found is not None and found.content_type == "text/html" else None


def peeked(request: HttpRequest, mailbox_id: int, uid: int) -> tuple[Mailbox, str, bytes]:
    """Access (READ), folder, and the message without marking it read."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    folder = folder_of(request)
    return mailbox, folder, load(request, mailbox, folder, uid)


@xframe_options_sameorigin  # the reader frames it
@never_cache
@login_required
def body(request: AuthedRequest, mailbox_id: int, uid: int) -> HttpResponse:
    """The HTML body, sanitised, for the reader's sandboxed iframe, under a strict CSP: the
    reader's snapshot's when it has one (no fetch, no parse, no nh3; by the page's token, not
    even a look-up of the message), else from the source."""
    images = request.GET.get("images") == "1"
    if not images and not request.GET.get("part"):
        mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
        folder = folder_of(request)
        token = request.GET.get("t", "")
        if token and (html := snapshots.body_by_token(request, mailbox, folder, uid, token)):
            return body_response(request, html, images)  # the page just looked it up
        row = reading.row_of(mailbox, folder, uid)
        if (html := snapshots.body(mailbox, row)) is not None:
            return body_response(request, html, images)
        if (kept := snapshots.get(mailbox, row)) is not None and kept.html is None:
            raise Http404  # kept, and without an HTML body
    try:
        mailbox, folder, raw = peeked(request, mailbox_id, uid)
    except OperatorUnavailable:
        return HttpResponse(status=503)
    parsed = mime.parse(raw)
    index = html_index_asked(request, parsed)
    if index is None:
        raise Http404
    rendered = html_part(mailbox, folder, uid, parsed.msg, index, images)
    return body_response(request, rendered.html, images)


def body_response(request: HttpRequest, html: str, images: bool) -> HttpResponse:
    response = render(request, "mail/body.html", {"html": html})
    response["Content-Security-Policy"] = BODY_CSP.format(remote=" https: http:" if images else "")
    response["Referrer-Policy"] = "no-referrer"
    return response


@xframe_options_sameorigin  # an image or a PDF, in the body frame or a preview
@never_cache
@login_required
def part(request: AuthedRequest, mailbox_id: int, uid: int, index: int) -> HttpResponse:
    """An attachment: downloaded with a neutral type, or shown inline if the type is safe."""
    try:
        mailbox, folder, raw = peeked(request, mailbox_id, uid)
    except OperatorUnavailable:
        return render(request, "503.html", status=503)  # a download: a page of its own
    try:
        found = mime.part_at(mime.message(raw), index)
    except mime.TooDeep:
        raise Http404 from None  # the reader offers the whole message's download instead
    if found is None:
        raise Http404
    inline = request.GET.get("inline") == "1" and found.content_type in INLINE_TYPES
    response = HttpResponse(
        found.payload, content_type=found.content_type if inline else "application/octet-stream"
    )
    name = found.filename or f"piece-jointe-{index}"
    response["Content-Disposition"] = content_disposition_header(not inline, name) or "attachment"
    # Images also get a CSP sandbox; Chromium will not show a PDF under one.
    sandboxed = inline and found.content_type.startswith("image/")
    response["Content-Security-Policy"] = PART_CSP + ("; sandbox" if sandboxed else "")
    if not inline:
        audit.record(
            request.user,
            "message.download",
            mailbox=mailbox,
            target=f"{folder}/{uid} part {index}",
            request=request,
        )
    return response


@login_required
def attached_message(request: AuthedRequest, mailbox_id: int, uid: int, index: int) -> HttpResponse:
    """A message attached to another (a forward as attachment), opened like a message: its
    headers, its body (text, or HTML in the same sandboxed frame) and its attachments."""
    mailbox = access.mailbox_or_404(request.user, Action.READ, mailbox_id, request)
    folder = folder_of(request)
    try:
        raw = load(request, mailbox, folder, uid)
    except OperatorUnavailable:
        return unavailable(request, mailbox, folder)
    try:
        shown = mime.attached(mime.message(raw), index)
    except mime.TooDeep:
        raise Http404 from None
    if shown is None:
        raise Http404
    audit.record(
        request.user,
        "message.read",
        mailbox=mailbox,
        target=f"{folder}/{uid} part {index} {shown.message_id}",
        request=request,
    )
    query = {"folder": folder, "part": str(shown.html_index)}
    body_url = reverse("mail-body", args=[mailbox.pk, uid]) + "?" + urlencode(query)
    context = {
        "mailbox": mailbox,
        "folder": folder,
        "uid": uid,
        "message": shown,
        "attachments": shown.attachments[:LISTED_ATTACHMENTS],
        "more_attachments": max(len(shown.attachments) - LISTED_ATTACHMENTS, 0),
        "body_url": body_url if shown.html_index is not None else "",
    }
    return render(request, "mail/attached.html", context)


@never_cache
@login_required
def raw_source(request: AuthedRequest, mailbox_id: int, uid: int) -> HttpResponse:
    try:
        mailbox, folder, raw = peeked(request, mailbox_id, uid)
    except OperatorUnavailable:
        return render(request, "503.html", status=503)
    audit.record(
        request.user,
        "message.download",
        mailbox=mailbox,
        target=f"{folder}/{uid} eml",
        request=request,
    )
    response = HttpResponse(raw, content_type="message/rfc822")
    response["Content-Disposition"] = (
        content_disposition_header(True, f"message-{uid}.eml") or "attachment"
    )
    return response
