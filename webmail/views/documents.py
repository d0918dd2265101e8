"""Health documents in the reader: a CDA shown ("Voir") or downloaded (CONFORMANCE.md
XDM-R11, XDM-R13, CDA-R1 to R4). The package is read again from the message's part: the
archive is never kept, only its summary."""

from __future__ import annotations

from html import escape

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin

from documents import cda, narrative, package, summaries
from documents.errors import Refused, reason
from mailboxes import access, audit
from mailboxes.errors import OperatorUnavailable
from mailboxes.mail import mime
from mailboxes.models import Mailbox, MessageIndex
from webmail.http import AuthedRequest
from webmail.views.reader import BODY_CSP, PART_CSP, peeked

# What an N1 body may be shown as (CDA-R1); anything else is downloaded.
SHOWN_MEDIA = frozenset({"application/pdf", "text/plain", "image/png", "image/jpeg"})
MAGIC = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
    "application/pdf": b"%PDF-",
}


def _opened(
    request: HttpRequest, mailbox_id: int, uid: int, index: int, number: int
) -> tuple[Mailbox, str, bytes, cda.Document | None]:
    """Access (READ), the package part, the document's bytes and parse; 404 when absent."""
    mailbox, folder, raw = peeked(request, mailbox_id, uid)
    try:
        part = mime.part_at(mime.message(raw), index)
    except mime.TooDeep:
        raise Http404 from None
    if part is None or not package.is_xdm(part.filename):
        raise Http404
    try:
        payload, document = package.open_document(part.payload, number)
    except Refused:
        raise Http404 from None
    return mailbox, folder, payload, document


def _target(folder: str, uid: int, index: int, number: int) -> str:
    return f"{folder}/{uid} part {index} doc {number}"  # XDM-R13: never the patient


def content_url(mailbox: Mailbox, folder: str, uid: int, index: int, number: int, kind: str) -> str:
    base = reverse("mail-document-content", args=[mailbox.pk, uid, index, number])
    return f"{base}?{urlencode({'folder': folder, 'as': kind})}"


@never_cache
@login_required
def document(
    request: AuthedRequest, mailbox_id: int, uid: int, index: int, number: int
) -> HttpResponse:
    """The "Voir" page: the header, then the PDF (N1, or an N3's copy first, CDA-R2) or the
    narrative in the sandboxed frame; "document illisible" when it does not parse (CDA-R4)."""
    try:
        mailbox, folder, _payload, parsed = _opened(request, mailbox_id, uid, index, number)
    except OperatorUnavailable:
        return HttpResponse(status=503)
    audit.record(
        request.user,
        "xdm.view",
        mailbox=mailbox,
        target=_target(folder, uid, index, number),
        request=request,
    )
    view = request.GET.get("view", "")
    context: dict[str, object] = {
        "mailbox": mailbox, "folder": folder, "uid": uid, "index": index, "number": number,
        "document": parsed.header if parsed else None,
        "reason": "" if parsed else reason("unreadable"),
    }  # fmt: skip
    if parsed is not None:
        context.update(_views(mailbox, folder, uid, index, number, parsed, view))
    return render(request, "documents/document.html", context)


def _views(
    mailbox: Mailbox,
    folder: str,
    uid: int,
    index: int,
    number: int,
    parsed: cda.Document,
    view: str,
) -> dict[str, object]:
    has_pdf = cda.pdf_of(parsed) is not None
    level = parsed.header.level
    shown = "pdf" if has_pdf and view != "narrative" else "narrative"
    if level == "N1":
        media = cda.body_media(parsed)
        shown = "pdf" if has_pdf else ("media" if media and _showable(media) else "")
    urls = {
        k: content_url(mailbox, folder, uid, index, number, k)
        for k in ("pdf", "narrative", "media")
    }
    return {
        "shown": shown,
        "frame_url": urls.get(shown, ""),
        "switch": level == "N3" and has_pdf,
        "no_view": reason("no-view") if not shown else "",
    }


def _showable(media: cda.Media) -> bool:
    if media.media_type not in SHOWN_MEDIA:
        return False
    magic = MAGIC.get(media.media_type)
    return magic is None or media.payload.startswith(magic)


@xframe_options_sameorigin  # the document page frames it
@never_cache
@login_required
def document_content(
    request: AuthedRequest, mailbox_id: int, uid: int, index: int, number: int
) -> HttpResponse:
    """What the document page frames: the PDF (magic bytes checked, CDA-R1), an N1's text
    or raster image, or the N3 narrative (our walk, nh3) under the body frame's CSP."""
    try:
        _mailbox, _folder, _payload, parsed = _opened(request, mailbox_id, uid, index, number)
    except OperatorUnavailable:
        return HttpResponse(status=503)
    if parsed is None:
        raise Http404
    kind = request.GET.get("as", "")
    if kind == "pdf" and (pdf := cda.pdf_of(parsed)) is not None:
        return _inline(pdf, "application/pdf", sandbox=False)
    if kind == "media" and (media := cda.body_media(parsed)) and _showable(media):
        if media.media_type == "text/plain":
            text = media.payload.decode("utf-8", "replace")
            return _framed(request, "<pre>" + escape(text) + "</pre>")
        return _inline(media.payload, media.media_type, sandbox=True)
    if kind == "narrative" and parsed.header.level == "N3":
        return _framed(request, narrative.render(parsed))
    raise Http404


def _inline(payload: bytes, content_type: str, *, sandbox: bool) -> HttpResponse:
    response = HttpResponse(payload, content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    # Chromium will not show a PDF under a CSP sandbox; images get one (as reader.part).
    response["Content-Security-Policy"] = PART_CSP + ("; sandbox" if sandbox else "")
    return response


def _framed(request: HttpRequest, html: str) -> HttpResponse:
    """Already-clean HTML in the reader's body page, under its strict CSP (third wall)."""
    response = render(request, "mail/body.html", {"html": html})
    response["Content-Security-Policy"] = BODY_CSP.format(remote="")
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@login_required
def document_download(
    request: AuthedRequest, mailbox_id: int, uid: int, index: int, number: int
) -> HttpResponse:
    """ "Télécharger le CDA": the exact bytes, as a neutral type (XDM-R13 audited)."""
    try:
        mailbox, folder, payload, _parsed = _opened(request, mailbox_id, uid, index, number)
    except OperatorUnavailable:
        return HttpResponse(status=503)
    audit.record(
        request.user,
        "xdm.download",
        mailbox=mailbox,
        target=_target(folder, uid, index, number),
        request=request,
    )
    response = HttpResponse(payload, content_type="application/octet-stream")
    name = f"DOC{number:04d}.XML"
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@login_required
def search(request: AuthedRequest) -> HttpResponse:
    """Health documents by patient name, INS or document type, in every mailbox the person
    may read. POST, so the words (a patient's name) stay out of URLs and logs; never audited
    with the words."""
    mailboxes = access.mailboxes_for(request.user)
    query = request.POST.get("q", "")[:200] if request.method == "POST" else ""
    results = summaries.search(mailboxes, query) if query else None
    if query:
        for mailbox in mailboxes:
            audit.record(request.user, "xdm.search", mailbox=mailbox, request=request)
    found = list(results or [])
    # Which folder and when: the copies in INBOX and in Sent of one report look alike else.
    wanted = Q(pk__in=[])
    for row in found:
        wanted |= Q(folder__mailbox_id=row.mailbox_id, folder__name=row.folder, uid=row.uid)
    indexed = (
        {
            (m.folder.mailbox_id, m.folder.name, m.uid): m
            for m in MessageIndex.objects.filter(wanted).select_related("folder")
        }
        if found
        else {}
    )
    rows = [
        (row, package.from_dict(row.summary), indexed.get((row.mailbox_id, row.folder, row.uid)))
        for row in found
    ]
    return render(
        request,
        "documents/search.html",
        {"query": query, "rows": rows, "searched": results is not None},
    )
