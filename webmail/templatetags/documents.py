"""Template filters of the health-document blocks (CONFORMANCE.md XDM-R11)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from documents import errors, ins

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
