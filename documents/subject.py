"""The subject as people read it (CONFORMANCE.md XDM-R12): without the `XDM/1.0/DDM+` prefix
MSSanté software puts in front (ECO.2.1.3, hidden in the UI: UX.28), also when it follows
reply/forward markers and bracket tags (`Re: [KO Intégration système !][902] XDM/1.0/DDM+…`).
A prefix in the middle of free text stays."""

from __future__ import annotations

import re

PREFIX = "XDM/1.0/DDM+"
SHOWN = re.compile(
    r"^((?:(?:re|tr|fw|fwd|aw)\s*:\s*|\[[^\]]*\]\s*)*)XDM/1\.0/DDM\+\s*", re.IGNORECASE
)


def display(subject: str) -> str:
    return SHOWN.sub(r"\1", subject or "", count=1)
