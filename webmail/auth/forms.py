from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from mailboxes.models import Structure, User


class PasswordLoginForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class InvitationTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Invitation code"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class NewPasswordForm(forms.Form):
    password1 = forms.CharField(label=_("New password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(
        label=_("New password (again)"), widget=forms.PasswordInput, strip=False
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            raise forms.ValidationError(_("The two passwords differ."))
        if first:
            password_validation.validate_password(first, user=User(email=self.email))
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address of the person"))
    structure = forms.ModelChoiceField(
        label=_("Structure"), queryset=Structure.objects.none(), required=False
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        structures = Structure.objects.all() if user.is_superuser else user.managed_structures.all()
        self.fields["structure"].queryset = structures.order_by("name")  # type: ignore[attr-defined]
        # Invitations only for one's own structures (administrators may invite for none).
        self.fields["structure"].required = not user.is_superuser
