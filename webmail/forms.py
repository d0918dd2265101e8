"""Forms of the mail pages (authentication forms live in webmail/auth/forms.py)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mailboxes.mailcache.cache import Criteria
from mailboxes.models import Delegation, Mailbox, User
from webmail.audit_labels import action_label


def end_of_day(day: Any) -> datetime | None:
    if not day:
        return None
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


class DelegationForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Delegation.Role.choices)
    expires_on = forms.DateField(
        label=_("Until (included)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_expires_on(self) -> Any:
        day = self.cleaned_data.get("expires_on")
        if day and day < timezone.localdate():
            raise forms.ValidationError(_("This date is in the past."))
        return day

    @property
    def expires_at(self) -> datetime | None:
        return end_of_day(self.cleaned_data.get("expires_on"))


class GrantForm(DelegationForm):
    person = forms.ModelChoiceField(
        label=_("A person already known"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Choose a person"),
    )
    email = forms.EmailField(label=_("or a new person's e-mail address"), required=False)
    field_order = ("person", "email", "role", "expires_on")

    def __init__(self, *args: Any, people: Any, manager: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people  # type: ignore[attr-defined]
        if manager is not None:
            # Not offered to themselves (the list only: a posted own id still reaches the
            # action, which refuses it and audits the attempt).
            field: Any = self.fields["person"]
            field.widget.choices = [c for c in field.choices if c[0] != manager.pk]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("person")) == bool(data.get("email")):
            raise forms.ValidationError(_("Pick a known person or give an e-mail address."))
        return data


class AuditFilterForm(forms.Form):
    person = forms.CharField(label=_("Person"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    since = forms.DateField(
        label=pgettext_lazy("date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labelled = sorted(((a, action_label(a)) for a in actions), key=lambda c: c[1])
        self.fields["action"].choices = [("", _("All")), *labelled]  # type: ignore[attr-defined]

    def filter(self, events: Any) -> Any:
        if not self.is_valid():
            return events
        data = self.cleaned_data
        if data["person"]:
            events = events.filter(actor_label__icontains=data["person"]) | events.filter(
                actor_subject_name_id=data["person"]
            )
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["since"]:
            events = events.filter(created__date__gte=data["since"])
        if data["until"]:
            events = events.filter(created__date__lte=data["until"])
        return events


AUDIT_COLUMNS: tuple[str, ...] = (
    "created", "actor_label", "actor_subject_name_id", "mailbox_address", "action", "target",
    "outcome", "response", "client_ip",
)  # fmt: skip


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Words"), max_length=200, required=False)
    mailbox = forms.ModelChoiceField(
        label=_("Mailbox"),
        queryset=Mailbox.objects.none(),
        required=False,
        empty_label=_("All my mailboxes"),
    )
    sender = forms.CharField(label=_("From"), max_length=200, required=False)
    since = forms.DateField(
        label=_("From (date)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To (date)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    attachments = forms.BooleanField(label=_("With attachments"), required=False)
    unread = forms.BooleanField(label=_("Unread only"), required=False)
    page = forms.IntegerField(min_value=1, max_value=1000, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, mailboxes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mailbox"].queryset = mailboxes  # type: ignore[attr-defined]  # a ModelChoiceField: only those the person may read

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        if not any(
            data.get(name) for name in ("q", "sender", "since", "until", "attachments", "unread")
        ):
            raise forms.ValidationError(_("Type a word to search for, or choose a filter."))
        return data

    def criteria(self) -> Criteria:
        data = self.cleaned_data
        return Criteria(
            words=data.get("q") or "",
            sender=data.get("sender") or "",
            since=data.get("since"),
            until=data.get("until"),
            attachments=bool(data.get("attachments")),
            unread=bool(data.get("unread")),
        )
