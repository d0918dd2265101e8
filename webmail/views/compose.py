"""Writing: new message, reply, reply all; the outbox with each message's fate."""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from documents import sending as sending_rules
from documents import subject as health_subject
from mailboxes import access, hooks, recipients
from mailboxes.access import Action
from mailboxes.actions import drafts, outbox, reading, sending
from mailboxes.errors import FolderMissing, OperatorUnavailable
from mailboxes.mail import headers, mime, refusals
from mailboxes.mail.folders import check_folder
from mailboxes.mailcache import cache
from mailboxes.models import Mailbox, Outgoing
from webmail import uploads
from webmail.converters import MAX_UID, uid_from
from webmail.http import AuthedRequest
from webmail.views import triage
from webmail.views.mail import folder_of


class ComposeForm(forms.Form):
    needs_confirmation = False  # a warning about recipients (TL5, warn mode) to confirm
    to = forms.CharField(label=gettext_lazy("To"))
    cc = forms.CharField(label=gettext_lazy("Cc"), required=False)
    bcc = forms.CharField(label=gettext_lazy("Bcc"), required=False)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=998, required=False)
    text = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea, required=False)
    request_dsn = forms.BooleanField(
        label=gettext_lazy("Delivery receipt (DSN)"), required=False, initial=True
    )
    request_mdn = forms.BooleanField(label=gettext_lazy("Ask for a read receipt"), required=False)
    # PAT2: X-MSS-MES: FIN, kept only for patient recipients (documents.sending).
    patient_no_reply = forms.BooleanField(
        label=gettext_lazy("The patient will not be able to reply (Mon espace santé)"),
        required=False,
    )
    fin_confirmed = forms.BooleanField(widget=forms.HiddenInput, required=False)  # PAT2

    def clean(self) -> dict[str, Any]:
        """PAT2: a subject of exactly [FIN] closes every previous exchange with the patient:
        said once, sent when the person sends again."""
        data = super().clean() or {}
        if sending_rules.closes_exchanges(data.get("subject", "")) and not data["fin_confirmed"]:
            if isinstance(self.data, QueryDict):
                confirmed = self.data.copy()
                confirmed["fin_confirmed"] = "True"
                self.data = confirmed
            message = _(
                "A subject of exactly [FIN] closes every previous exchange with the patient. "
                "Send again to confirm."
            )
            raise forms.ValidationError(message)
        return data

    in_reply_to = forms.CharField(widget=forms.HiddenInput, required=False)
    references = forms.CharField(widget=forms.HiddenInput, required=False)
    forward_uid = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=1, max_value=MAX_UID
    )
    forward_folder = forms.CharField(widget=forms.HiddenInput, required=False)
    forward_as = forms.ChoiceField(
        widget=forms.HiddenInput,
        required=False,
        choices=[("", ""), ("inline", "inline"), ("attachment", "attachment")],
    )

    def clean_addresses(self, name: str) -> list[str]:
        try:
            return headers.recipients(self.cleaned_data.get(name, ""))
        except ValueError as exc:
            message = _("Not an e-mail address: %(value)s") % {"value": exc}
            raise forms.ValidationError(message) from exc

    def clean_to(self) -> list[str]:
        found = self.clean_addresses("to")
        if not found:
            raise forms.ValidationError(_("Give at least one recipient."))
        return found

    def clean_cc(self) -> list[str]:
        return self.clean_addresses("cc")

    def clean_bcc(self) -> list[str]:
        return self.clean_addresses("bcc")


def attachments_of(request: HttpRequest) -> list[tuple[str, str, bytes]]:
    """The files sent, read from their temporary files; their total is capped already."""
    if uploads.refused(request):
        return []
    files = request.FILES.getlist("attachments")
    return [
        (f.name or "piece-jointe", f.content_type or "application/octet-stream", f.read())
        for f in files
    ]


def original(mailbox: Mailbox, folder: str, uid: int) -> bytes:
    """The message replied to or forwarded, not marked read; 404 if it is not there."""
    try:
        return reading.peek(mailbox, folder, uid)
    except (reading.NotThere, FolderMissing):
        raise Http404 from None


def reply_initial(mailbox: Mailbox, folder: str, uid: int, everyone: bool) -> dict[str, Any]:
    parsed = mime.parse(original(mailbox, folder, uid))
    msg = parsed.msg
    to = headers.addresses([mime.header(msg, "Reply-To") or parsed.from_])[:1]
    cc: list[headers.Pair] = []
    if everyone:  # the others, once each, never the mailbox itself
        seen = {mailbox.address.lower(), *(address.lower() for _, address in to)}
        for pair in headers.addresses([mime.header(msg, "To"), mime.header(msg, "Cc")]):
            if pair[1].lower() not in seen:
                seen.add(pair[1].lower())
                cc.append(pair)
    shown = health_subject.display(parsed.subject)  # a reply carries no XDM (XDM-S6)
    subject = shown if shown.lower().startswith("re:") else f"Re: {shown}"
    when = headers.quoted_date(parsed.date)
    quoted = "\n".join(f"> {line}" for line in parsed.text.splitlines())
    attribution = _("On %(date)s, %(who)s wrote:") % {"date": when, "who": parsed.from_}
    return {
        "to": ", ".join(map(headers.display, to)),
        "cc": ", ".join(map(headers.display, cc)),
        "subject": subject,
        "text": f"\n\n{attribution}\n{quoted}",
        "in_reply_to": parsed.message_id,
        "references": mime.header(msg, "References"),
        "request_dsn": True,
    }


def signature_block(mailbox: Mailbox) -> str:
    return f"\n\n-- \n{mailbox.signature}" if mailbox.signature else ""


def forward_initial(mailbox: Mailbox, folder: str, uid: int, as_attachment: bool) -> dict[str, Any]:
    parsed = mime.parse(original(mailbox, folder, uid))
    shown = health_subject.display(parsed.subject)  # re-added on send with the XDM (XDM-S6)
    subject = shown if shown.lower().startswith("tr:") else f"Tr: {shown}"
    initial: dict[str, Any] = {
        "subject": subject,
        "forward_uid": uid,
        "forward_folder": folder,
        "forward_as": "attachment" if as_attachment else "inline",
        "request_dsn": True,
        "text": signature_block(mailbox),
        # Shown in the composer: what goes with the forward (issue 15, defect 1).
        "carried": [f"{shown or 'message'}.eml"]
        if as_attachment
        else [a.filename or _("(unnamed)") for a in parsed.attachments],
    }
    if not as_attachment:
        when = headers.quoted_date(parsed.date)
        header = _("---------- Forwarded message ----------")
        lines = [
            header,
            f"{_('From')}: {parsed.from_}",
            f"{_('Date')}: {when}",
            f"{_('Subject')}: {shown}",
            f"{_('To')}: {', '.join(parsed.to)}",
        ]
        initial["text"] = (
            signature_block(mailbox) + "\n\n" + "\n".join(lines) + "\n\n" + parsed.text
        )
    return initial


def forwarded_parts(
    mailbox: Mailbox, data: dict[str, Any]
) -> tuple[bytes, list[tuple[str, str, bytes]]]:
    """What a forward carries: the original as message/rfc822, or its attachments."""
    if not data.get("forward_uid") or not data.get("forward_as"):
        return b"", []
    folder = check_folder(data.get("forward_folder") or "INBOX")
    try:
        raw = reading.peek(mailbox, folder, data["forward_uid"])
    except (reading.NotThere, FolderMissing):
        raw = b""
    if data["forward_as"] == "attachment":
        mime.message(raw)  # TooDeep (the caller says so) rather than a failure when built
        return raw, []
    parsed = mime.parse(raw)
    if parsed.too_deep:
        raise mime.TooDeep
    found = [mime.part_at(parsed.msg, a.index) for a in parsed.attachments]
    return b"", [(p.filename or "piece-jointe", p.content_type, p.payload) for p in found if p]


def queue_from(
    request: AuthedRequest, mailbox: Mailbox, senders: list[Mailbox]
) -> tuple[ComposeForm, Outgoing | None]:
    """Validate what was written and queue it; the form, with its errors, if not."""
    form = ComposeForm(request.POST)
    chosen = request.POST.get("from_mailbox", str(mailbox.pk))
    sender = next((m for m in senders if str(m.pk) == chosen), None)
    files = attachments_of(request)
    limit = uploads.upload_limit()
    if uploads.refused(request) or sum(len(data) for _, _, data in files) > limit:
        form.add_error(
            None,
            _(
                "The attachments are too large for the operator (%(limit)s MB at most). "
                "Choose them again, smaller or fewer."
            )
            % {"limit": limit // (1024 * 1024)},
        )
    if sender is None or not form.is_valid():
        return form, None
    data = form.cleaned_data
    try:
        forwarded, carried = forwarded_parts(mailbox, data)
    except mime.TooDeep:
        form.add_error(None, _("This message is nested too deeply to be forwarded."))
        return form, None
    except (OperatorUnavailable, ValueError):
        form.add_error(None, _("The message to forward cannot be read right now."))
        return form, None
    draft_uid = uid_from(request.POST.get("draft_uid", ""))
    try:
        kept = (
            drafts.kept_attachments(mailbox, draft_uid, kept_positions(request))
            if draft_uid
            else []
        )
    except OperatorUnavailable:
        form.add_error(None, _("The draft's attachments cannot be read right now."))
        return form, None
    draft = outbox.Draft(
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        subject=data["subject"],
        text=data["text"],
        attachments=[*carried, *kept, *files],
        in_reply_to=data["in_reply_to"],
        references=data["references"],
        request_dsn=data["request_dsn"],
        request_mdn=data["request_mdn"],
        forwarded=forwarded,
        headers=[("X-MSS-MES", "FIN")] if data["patient_no_reply"] else [],
    )
    try:
        queued = outbox.do_queue_message(
            request.user,
            sender,
            draft,
            request,
            max_size=outbox.size_limit(),
            confirmed_outside=request.POST.get("confirm_outside") == "1",
        )
    except recipients.OutsideRecipients as exc:
        for found in exc.outside:
            form.add_error(None, found.reason)
        form.needs_confirmation = not exc.blocking
        return form, None
    except hooks.Refused as refused:  # e.g. documents: two patients (XDM-S7), PAT1
        form.add_error(None, str(refused))
        return form, None
    except outbox.TooLarge:
        message = _(
            "The message is too large for the operator (%(limit)s MB at most, attachments "
            "included): shorten the text or send fewer attachments."
        )
        form.add_error(None, message % {"limit": (outbox.size_limit() or 0) // (1024 * 1024)})
        return form, None
    return form, queued


def initial_for(request: HttpRequest, mailbox: Mailbox) -> dict[str, Any]:
    """A new message, a reply (to all) or a forward, with the mailbox's signature."""
    reply = uid_from(request.GET.get("reply") or request.GET.get("reply_all") or "")
    forward = uid_from(request.GET.get("forward", ""))
    draft = uid_from(request.GET.get("draft", ""))
    # The operator down: the person still gets an empty form to write in.
    with contextlib.suppress(OperatorUnavailable):
        if reply:
            initial = reply_initial(
                mailbox, folder_of(request), reply, everyone="reply_all" in request.GET
            )
            return {**initial, "text": signature_block(mailbox) + initial["text"]}
        if forward:
            as_attachment = request.GET.get("as") == "attachment"
            return forward_initial(mailbox, folder_of(request), forward, as_attachment)
        if draft:
            return draft_initial(mailbox, draft)
    # ?to=: "write to" from the directory page.
    to = request.GET.get("to", "")[:254]
    return {"request_dsn": True, "text": signature_block(mailbox), "to": to}


def draft_initial(mailbox: Mailbox, uid: int) -> dict[str, Any]:
    raw = drafts.draft_message(mailbox, uid)
    if raw is None:
        raise Http404
    parsed = mime.parse(raw)
    msg = parsed.msg
    return {
        "to": ", ".join(parsed.to),
        "cc": ", ".join(parsed.cc),
        "subject": parsed.subject,
        "text": parsed.text,
        "in_reply_to": mime.header(msg, "In-Reply-To"),
        "references": mime.header(msg, "References"),
        "request_dsn": True,
        "draft_uid": uid,
        "kept": kept_list(drafts.attachments_of(raw)),
    }


def kept_list(parts: list[mime.Part], ticked: list[int] | None = None) -> list[dict[str, object]]:
    """A draft's attachments as the composer lists them, ticked to be kept (all, or those
    given)."""
    return [
        {
            "position": n,
            "filename": p.filename or _("(unnamed)"),
            "size": len(p.payload),
            "ticked": ticked is None or n in ticked,
        }
        for n, p in enumerate(parts)
    ]


def kept_positions(request: HttpRequest) -> list[int]:
    """The draft's attachments the person left ticked (positions, as kept_list numbers them)."""
    values = request.POST.getlist("keep_attachment")[:500]
    return [int(v) for v in values if v.isdigit() and len(v) < 4]


def draft_posted(request: HttpRequest, kept: list[tuple[str, str, bytes]]) -> outbox.Draft:
    """What is being written, as posted, for the Drafts folder: the draft's attachments
    kept, then the files chosen with this request."""
    post = request.POST
    return outbox.Draft(
        to=headers.lenient_recipients(post.get("to", "")),
        cc=headers.lenient_recipients(post.get("cc", "")),
        subject=post.get("subject", "")[:998],
        text=post.get("text", ""),
        in_reply_to=post.get("in_reply_to", ""),
        references=post.get("references", ""),
        attachments=[*kept, *attachments_of(request)],
    )


@login_required
def save_draft(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """Keep what is being written in the mailbox's Drafts folder (called while typing)."""
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    previous = uid_from(request.POST.get("draft_uid", ""))
    try:
        # The previous version's attachments the person kept, and files just chosen (the
        # composer posts them once, when chosen): a draft keeps its attachments.
        kept = (
            drafts.kept_attachments(mailbox, previous, kept_positions(request)) if previous else []
        )
        draft = draft_posted(request, kept)
        uid = drafts.do_save_draft(request.user, mailbox, draft, previous, request)
    except OperatorUnavailable:
        context = {"uid": previous, "failed": True}
        return render(request, "components/draft_status.html", context)
    saved = {
        "uid": uid,
        "saved_at": timezone.localtime(),
        # Files beyond the limit were not read at all (webmail.uploads): said, not dropped
        # in silence; what was typed is in the draft all the same.
        "refused_mb": uploads.upload_limit() // (1024 * 1024) if uploads.refused(request) else 0,
        "kept": kept_list([mime.Part(-1, t, n, "", d) for n, t, d in draft.attachments]),
        "stored_files": len(draft.attachments) - len(kept),
        "oob": True,
        "cda_subject": sending_rules.subject_hint(draft.attachments),
    }
    return render(request, "components/draft_status.html", saved)


@login_required
def compose(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    senders = [
        m for m in access.mailboxes_for(request.user) if access.can(request.user, Action.SEND, m)
    ]
    draft_uid = request.POST.get("draft_uid", "")
    if request.method == "POST" and request.POST.get("discard") == "1":
        return discarded_reply(mailbox, draft_uid)  # "Discard" on a stopped reply
    # A reply whose conversation someone else changed meanwhile waits for a choice (triage).
    stopped = triage.stopped_reply(request, mailbox) if request.method == "POST" else None
    if stopped is not None:
        form = ComposeForm(request.POST)
        draft_uid, kept = stopped_draft(request, mailbox)
    elif request.method == "POST":
        form, queued = queue_from(request, mailbox, senders)
        if queued is not None:
            sent_draft = uid_from(draft_uid)
            if sent_draft:  # sent: the draft has done its job
                drafts.do_drop_draft(mailbox, sent_draft)
            return redirect("mail-outbox", mailbox_id=queued.mailbox_id)
        kept = refused_draft_attachments(request, mailbox)
    else:
        initial = initial_for(request, mailbox)
        form = ComposeForm(initial=initial)
        kept = form.initial.get("kept", [])
    context = {
        "mailbox": mailbox,
        "form": form,
        "senders": senders,
        "limit_bytes": (limit := uploads.upload_limit()),
        "limit_mb": limit // (1024 * 1024),
        # The draft being written: from ?draft=, or kept across a refused submission.
        "draft_uid": form.initial.get("draft_uid") or draft_uid,
        "carried": form.initial.get("carried", []),
        "compose_title": compose_title(request),
        "kept": kept,
        "triage": triage.reply_context(request, mailbox, str(form["in_reply_to"].value() or "")),
        "collision": stopped,
        "saved_replies": triage.composer_replies(request, mailbox, str(form["to"].value() or "")),
    }
    return render(request, "mail/compose.html", context)


def compose_title(request: HttpRequest) -> str:
    """The composer's heading says what is being written."""
    for name, title in (
        ("reply_all", _("Reply all")),
        ("reply", _("Reply")),
        ("forward", _("Forward")),
        ("draft", _("Draft")),
    ):
        if request.GET.get(name):
            return title
    return _("New message")


def discarded_reply(mailbox: Mailbox, draft_uid: str) -> HttpResponse:
    """ "Discard" on a stopped reply: its draft leaves Drafts too (kept if the operator is
    away), back to the list."""
    uid = uid_from(draft_uid)
    if uid:
        drafts.do_drop_draft(mailbox, uid)
    return redirect("mail-folder", mailbox_id=mailbox.pk)


def stopped_draft(request: AuthedRequest, mailbox: Mailbox) -> tuple[str, list[dict[str, object]]]:
    """A stopped reply keeps what it carries: files chosen and sent with it (not yet in
    the draft: chosen just before sending, or a browser without scripts) go into a new
    version of the draft, so that the form shown again lists them with the draft's own
    (a file input cannot be filled back). The draft's UID, and its attachments listed."""
    previous = uid_from(request.POST.get("draft_uid", ""))
    unchanged = (str(previous or ""), refused_draft_attachments(request, mailbox))
    if uploads.refused(request) or not request.FILES.getlist("attachments"):
        return unchanged
    try:
        positions = kept_positions(request)
        kept = drafts.kept_attachments(mailbox, previous, positions) if previous else []
        draft = draft_posted(request, kept)
        uid = drafts.do_save_draft(request.user, mailbox, draft, previous, request)
    except OperatorUnavailable:
        return unchanged
    parts = [mime.Part(-1, t, n, "", d) for n, t, d in draft.attachments]
    return str(uid or ""), kept_list(parts)


def refused_draft_attachments(request: HttpRequest, mailbox: Mailbox) -> list[dict[str, object]]:
    """A refused submission shows the draft's attachments again, as they were ticked."""
    draft_uid = uid_from(request.POST.get("draft_uid", ""))
    raw = None
    with contextlib.suppress(OperatorUnavailable):
        raw = drafts.draft_message(mailbox, draft_uid) if draft_uid else None
    return kept_list(drafts.attachments_of(raw), kept_positions(request)) if raw else []


@login_required
def outbox_page(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    outgoing = list(
        Outgoing.objects.filter(mailbox=mailbox)
        .select_related("author")
        .prefetch_related("receipts")
        .order_by("-created")[:100]
    )
    subjects = cache.outbox_subjects(mailbox, outgoing)
    rows = [
        {
            "item": item,
            "subject": subjects.get(item.pk, ""),
            # A refusal for good (5.x.x) is not offered "Try again": it cannot work.
            "refusals": [] if item.error == Outgoing.INTERRUPTED else refusals.parse(item.error),
            "permanent": refusals.permanent(item.error),
        }
        for item in outgoing
    ]
    context = {
        "mailbox": mailbox,
        "rows": rows,
        "waits_for_person": sending.needs_the_person(mailbox),
    }
    return render(request, "mail/outbox.html", context)


def outgoing_or_404(mailbox: Mailbox, outgoing_id: int, **state: str) -> Outgoing:
    outgoing = Outgoing.objects.filter(pk=outgoing_id, mailbox=mailbox, **state).first()
    if outgoing is None:
        raise Http404
    return outgoing


@login_required
def discard(request: AuthedRequest, mailbox_id: int, outgoing_id: int) -> HttpResponse:
    """Delete a message that could not be sent, after asking."""
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    outgoing = outgoing_or_404(mailbox, outgoing_id, status=Outgoing.Status.FAILED)
    if request.method == "POST":
        outbox.do_discard(request.user, outgoing, request)
        return redirect("mail-outbox", mailbox_id=mailbox.pk)
    return render(request, "mail/discard.html", {"mailbox": mailbox, "item": outgoing})


@login_required
def retry(request: AuthedRequest, mailbox_id: int, outgoing_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    outgoing = outgoing_or_404(mailbox, outgoing_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    outbox.do_retry(request.user, outgoing, request)
    return redirect("mail-outbox", mailbox_id=mailbox.pk)
