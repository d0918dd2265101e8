"""Template filters of the health-document blocks (CONFORMANCE.md XDM-R11)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from documents import errors, ins
from mailboxes.mail import receipts
from mailboxes.models import Receipt

register = template.Library()


@register.filter
def hl7_date(value: str) -> str:
    """HL7 TS `AAAAMMJJ[hhmm…]` -> `JJ/MM/AAAA[ hh:mm]`; the raw value when it is not one."""
    value = (value or "").strip()
    if len(value) < 8 or not value[:8].isdigit():
        return value
    day = f"{value[6:8]}/{value[4:6]}/{value[:4]}"
    return f"{day} {value[8:10]}:{value[10:12]}" if value[8:12].isdigit() else day


@register.filter
def ins_kind(oid: str) -> str:
    return ins.kind(oid or "")


@register.filter
def reason(code: str) -> str:
    """A refusal code's French sentence (documents.errors)."""
    return errors.reason(code)


@register.filter
def sex_label(code: str) -> str:
    return {"F": _("female"), "M": _("male"), "U": _("unknown")}.get(code or "", code or "")


@register.filter
def confidentiality_label(code: str) -> str:
    labels = {"N": _("normal"), "R": _("restricted"), "V": _("very restricted")}
    return labels.get(code, code)


@register.filter
def masked_label(code: str) -> str:
    labels = {
        "masked-professionals": _("hidden from professionals"),
        "invisible-patient": _("invisible to the patient"),
        "invisible-guardians": _("invisible to the legal representatives"),
    }
    return labels.get(code, code)


@register.filter
def patient_address(address: str) -> bool:
    """PAT4: a Mon espace santé address, marked in lists and the reader."""
    return ins.patient_address(address or "")


@register.filter
def integration_error(diagnostic: str) -> str:
    """RCPT (a): a CI-SIS MDN modifier `Error: 902^Identifiant patient inconnu` ->
    "902 — Identifiant patient inconnu"; "" when it is no integration error."""
    head, _, rest = (diagnostic or "").partition(":")
    if head.strip().lower() != "error":
        return ""
    code, _, label = rest.strip().partition("^")
    return f"{code.strip()} — {label.strip()}" if label else code.strip()


MES_BOUNCES = {
    "messagerie fermée": gettext_lazy("the patient's Mon espace santé mailbox is closed"),
    "patient non trouvé": gettext_lazy("no such patient in Mon espace santé"),
    "adresse invalide": gettext_lazy("the patient address is invalid"),
    "taille": gettext_lazy("the message is too large for Mon espace santé (25 MB)"),
}


@register.filter
def mes_bounce(receipt: Receipt) -> str:
    """RCPT (c): a Mon espace santé bounce explained in French; "" for any other (a failure
    for a professional's address is never explained as Mon espace santé's)."""
    if not ins.patient_address(receipt.recipient or ""):
        return ""
    said = receipts.mes_text(receipt.diagnostic or "")
    return str(MES_BOUNCES[said]) if said else ""


@register.filter
def line_for(found: dict[int, str] | None, uid: int) -> str:
    """A list row's health-document line (documents.summaries.lines), "" when none."""
    return (found or {}).get(uid, "")
