"""Writing: new message, reply, reply all; the outbox with each message's fate."""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mailboxes import access, mime, outbox
from mailboxes.access import Action
from mailboxes.models import Mailbox, Outgoing
from mailboxes.operator import OperatorUnavailable, imap
from webmail.views.mail import folder_of


class ComposeForm(forms.Form):
    to = forms.CharField(label=gettext_lazy("To"))
    cc = forms.CharField(label=gettext_lazy("Cc"), required=False)
    bcc = forms.CharField(label=gettext_lazy("Bcc"), required=False)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=998, required=False)
    text = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea, required=False)
    request_dsn = forms.BooleanField(
        label=gettext_lazy("Delivery receipt (DSN)"), required=False, initial=True
    )
    request_mdn = forms.BooleanField(label=gettext_lazy("Ask for a read receipt"), required=False)
    in_reply_to = forms.CharField(widget=forms.HiddenInput, required=False)
    references = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_addresses(self, name: str) -> list[str]:
        try:
            return outbox.addresses(self.cleaned_data.get(name, ""))
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
    files = request.FILES.getlist("attachments")
    return [
        (f.name or "piece-jointe", f.content_type or "application/octet-stream", f.read())
        for f in files
    ]


def reply_initial(mailbox: Mailbox, folder: str, uid: int, everyone: bool) -> dict[str, Any]:
    raw = imap.fetch_message(mailbox, folder, uid, peek=True)
    if raw is None:
        raise Http404
    parsed = mime.parse(raw)
    msg = mime.message(raw)
    reply_to = mime.header(msg, "Reply-To") or parsed.from_
    to = [reply_to]
    cc = (
        [a for a in (parsed.to + parsed.cc) if mailbox.address not in a.lower()] if everyone else []
    )
    subject = (
        parsed.subject if parsed.subject.lower().startswith("re:") else f"Re: {parsed.subject}"
    )
    when = parsed.date.strftime("%d/%m/%Y %H:%M") if parsed.date else ""
    quoted = "\n".join(f"> {line}" for line in parsed.text.splitlines())
    attribution = _("On %(date)s, %(who)s wrote:") % {"date": when, "who": parsed.from_}
    return {
        "to": ", ".join(to),
        "cc": ", ".join(cc),
        "subject": subject,
        "text": f"\n\n{attribution}\n{quoted}",
        "in_reply_to": parsed.message_id,
        "references": mime.header(msg, "References"),
        "request_dsn": True,
    }


@login_required
def compose(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    senders = [
        m for m in access.mailboxes_for(request.user) if access.can(request.user, Action.SEND, m)
    ]
    if request.method == "POST":
        form = ComposeForm(request.POST)
        chosen = request.POST.get("from_mailbox", str(mailbox.pk))
        sender = next((m for m in senders if str(m.pk) == chosen), None)
        files = attachments_of(request)
        too_big = sum(len(data) for _, _, data in files) > settings.WEBMAIL_MAX_UPLOAD_BYTES
        if too_big:
            form.add_error(
                None,
                _("The attachments are too large for the operator (%(limit)s MB at most).")
                % {"limit": settings.WEBMAIL_MAX_UPLOAD_BYTES // (1024 * 1024)},
            )
        if sender is not None and form.is_valid() and not too_big:
            data = form.cleaned_data
            draft = outbox.Draft(
                to=data["to"],
                cc=data["cc"],
                bcc=data["bcc"],
                subject=data["subject"],
                text=data["text"],
                attachments=files,
                in_reply_to=data["in_reply_to"],
                references=data["references"],
                request_dsn=data["request_dsn"],
                request_mdn=data["request_mdn"],
            )
            outbox.do_queue_message(request.user, sender, draft, request)
            return redirect("mail-outbox", mailbox_id=sender.pk)
    else:
        initial: dict[str, Any] = {"request_dsn": True}
        reply = request.GET.get("reply") or request.GET.get("reply_all")
        if reply and reply.isdigit():
            # The operator down: the person still gets an empty form to write in.
            with contextlib.suppress(OperatorUnavailable):
                initial = reply_initial(
                    mailbox, folder_of(request), int(reply), everyone="reply_all" in request.GET
                )
        form = ComposeForm(initial=initial)
    context = {
        "mailbox": mailbox,
        "form": form,
        "senders": senders,
        "limit_mb": settings.WEBMAIL_MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "mail/compose.html", context)


@login_required
def outbox_page(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    messages = (
        Outgoing.objects.filter(mailbox=mailbox)
        .select_related("author")
        .prefetch_related("receipts")
        .order_by("-created")[:100]
    )
    return render(request, "mail/outbox.html", {"mailbox": mailbox, "outgoing": messages})


@login_required
def retry(request: HttpRequest, mailbox_id: int, outgoing_id: int) -> HttpResponse:
    mailbox = access.mailbox_or_404(request.user, Action.SEND, mailbox_id, request)
    outgoing = Outgoing.objects.filter(pk=outgoing_id, mailbox=mailbox).first()
    if outgoing is None:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    outbox.do_retry(request.user, outgoing, request)
    return redirect("mail-outbox", mailbox_id=mailbox.pk)
