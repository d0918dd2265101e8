"""The INS (Identifiant National de Santé): its kind from the OID and its key (PAT1)."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

INS_NIR = "1.2.250.1.213.1.4.8"
INS_NIA = "1.2.250.1.213.1.4.9"
INS_NIR_TEST = "1.2.250.1.213.1.4.10"
INS_NIR_DEMO = "1.2.250.1.213.1.4.11"
KINDS = {
    INS_NIR: _("INS-NIR"),
    INS_NIA: _("INS-NIA"),
    INS_NIR_TEST: _("INS-NIR (test)"),
    INS_NIR_DEMO: _("INS-NIR (demonstration)"),
}
INS_OIDS = frozenset(KINDS)
# PAT1: sex 1-8, year and month (4 digits), department (2 digits, 2A or 2B), 6 digits, key.
MATRICULE = re.compile(r"^[1-8]\d{4}(?:\d{2}|2[AB])\d{6}\d{2}$")
PATIENT_DOMAIN = "patient.mssante.fr"


def kind(oid: str) -> str:
    """XDM-R11: the INS kind named by its OID; anything else is a local identifier."""
    label = KINDS.get(oid)
    return str(label) if label else str(_("local identifier (%(oid)s)") % {"oid": oid})


def is_ins(oid: str) -> bool:
    return oid in INS_OIDS


def key_ok(matricule: str) -> bool:
    """PAT1: 15 characters whose last two are 97 - (the first 13 as a number mod 97), with
    Corsica's 2A read as 19 and 2B as 18."""
    value = matricule.strip().upper()
    if not MATRICULE.match(value):
        return False
    return int(value[13:]) == _key(value[:13])


def _key(first13: str) -> int:
    corsica = {"2A": "19", "2B": "18"}
    return 97 - int(first13[:5] + corsica.get(first13[5:7], first13[5:7]) + first13[7:]) % 97


def with_key(first13: str) -> str:
    """The 15-character matricule for 13 characters (fixtures and the demo)."""
    return f"{first13}{_key(first13.upper()):02d}"


def patient_address(address: str) -> bool:
    """PAT4: an address of Mon espace santé (`<INS>@patient.mssante.fr`)."""
    return address.strip().lower().rstrip(">").endswith("@" + PATIENT_DOMAIN)
