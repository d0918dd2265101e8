"""Trust lists in the real format (CONFORMANCE.md TL2), generated for the tests."""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

NS = "https://listeblanche.mssante.fr/schema"
CERT = "CN=mss.operateur-{n}.fr,OU=34436855730003{n},O=OPERATEUR {n},ST=Paris (75),C=FR"


def domaine(name: str, n: int = 1, description: str = "Domaine de messagerie MSSanté") -> str:
    return (
        "<Domaine>"
        f"<Nom>{escape(name)}</Nom><Description>{escape(description)}</Description>"
        f"<DNCertificatOperateur>{CERT.format(n=n)}</DNCertificatOperateur>"
        "<ResponsableContact>01 02 03 04 05, contact@operateur.fr</ResponsableContact>"
        "<SupportContact>01 02 03 04 05, support@operateur.fr</SupportContact>"
        "<DateMAJ>2025-03-13T14:54:10Z</DateMAJ>"
        "</Domaine>\n"
    )


def fillers(count: int, prefix: str = "etab") -> list[str]:
    return [f"{prefix}{i}.mssante.fr" for i in range(count)]


def trust_list(
    names: Iterable[str],
    generated: str = "2025-03-13T14:54:10Z",
    *,
    namespace: str = NS,
    truncated: bool = False,
    raw_entries: str = "",
) -> bytes:
    """A list as the ANS publishes it; `truncated` drops the closing root tag, as the
    GitHub copy once did."""
    entries = "".join(domaine(name, n=i % 3) for i, name in enumerate(names))
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<ListeBlancheMSSante xmlns="{namespace}">\n'
        f"<DateDeGeneration>{generated}</DateDeGeneration>\n"
        f"<ListeDomaines>\n{entries}{raw_entries}</ListeDomaines>\n"
    )
    if not truncated:
        text += "</ListeBlancheMSSante>\n"
    return text.encode("utf-8")


def put_in_force(*names: str) -> None:
    """Make a list of these domains the one in force, whatever its size (tests only)."""
    from directory import trustlist

    trustlist.swap(trustlist.parse(trust_list(names)), "tests")
