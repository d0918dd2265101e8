"""The MSSanté trust list ("liste blanche", CONFORMANCE.md TL1–TL5): read it strictly,
accept it only when it looks sane, swap it in one transaction, decide on recipients."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import idna
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from lxml import etree

from directory.models import TrustedDomain, TrustListLoad

NS = "https://listeblanche.mssante.fr/schema"
ROOT = f"{{{NS}}}ListeBlancheMSSante"
MAX_NAME, MAX_LABEL = 253, 63
# What is not a hostname (TL4): the real list once held a name with "@".
NOT_A_HOSTNAME = re.compile(r"[@\s/\\:]")
OPERATOR = re.compile(r"(?:^|,)\s*O=([^,]+)")


class Refused(Exception):
    """The new list is not accepted; the one in force stays. The text says why (TL3)."""


@dataclass
class Domain:
    name: str  # A-label, lower case: what recipients are matched against
    display: str  # U-label
    description: str = ""
    operators: list[str] = field(default_factory=list)


@dataclass
class TrustList:
    generated: datetime
    domains: dict[str, Domain]
    skipped: int = 0  # entries that are not hostnames


def parser() -> etree.XMLParser:
    """XDM-R5: no entities, no network, no DTD, libxml2's limits kept, no recovery (a
    truncated list is refused: this is a security decision, TL2)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
        collect_ids=False,
        recover=False,
    )


def a_label(name: str) -> str | None:
    """The lower-case A-label of a hostname (UTS #46), None if it is not one (TL4)."""
    name = name.strip().rstrip(".")
    if not name or len(name) > MAX_NAME or NOT_A_HOSTNAME.search(name):
        return None
    try:
        encoded = idna.encode(name, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        return None
    labels = encoded.split(".")
    if (
        len(encoded) > MAX_NAME
        or len(labels) < 2
        or any(not 0 < len(x) <= MAX_LABEL for x in labels)
    ):
        return None
    return encoded


def u_label(name: str) -> str:
    try:
        return idna.decode(name)
    except (idna.IDNAError, UnicodeError):
        return name


def text_of(element: etree._Element, tag: str) -> str:
    found = element.find(f"{{{NS}}}{tag}")
    return (found.text or "").strip() if found is not None else ""


def parse(data: bytes) -> TrustList:
    """The list in `data` (TL2); Refused when it is not a well-formed list of this format."""
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        raise Refused(f"not well-formed XML (truncated?): {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise Refused("a DOCTYPE has no business in the trust list")
    if root.tag != ROOT:
        raise Refused(f"unexpected root element {root.tag}")
    generated = parse_datetime(text_of(root, "DateDeGeneration"))
    if generated is None or generated.tzinfo is None:
        raise Refused("DateDeGeneration missing or not an ISO 8601 time with its zone")
    found = TrustList(generated=generated, domains={})
    for entry in root.iterfind(f"{{{NS}}}ListeDomaines/{{{NS}}}Domaine"):
        add(found, entry)
    return found


def add(found: TrustList, entry: etree._Element) -> None:
    """One <Domaine>; a name listed once per operator certificate is one domain (TL2)."""
    name = a_label(text_of(entry, "Nom"))
    if name is None:
        found.skipped += 1
        return
    domain = found.domains.setdefault(
        name, Domain(name, u_label(name), text_of(entry, "Description")[:300])
    )
    operator = OPERATOR.search(text_of(entry, "DNCertificatOperateur"))
    if operator and operator.group(1).strip() not in domain.operators:
        domain.operators.append(operator.group(1).strip())


def current() -> TrustListLoad | None:
    """The load that put the list in force, None if no list was ever accepted."""
    return TrustListLoad.objects.filter(accepted=True).order_by("-created", "-pk").first()


def check(new: TrustList, previous: TrustListLoad | None) -> None:
    """TL3: Refused unless the list is at least as recent, large enough, and not much
    smaller than the one in force."""
    if len(new.domains) < settings.TRUSTLIST_MIN_DOMAINS:
        raise Refused(
            f"only {len(new.domains)} valid domains (at least {settings.TRUSTLIST_MIN_DOMAINS})"
        )
    if previous is None:
        return
    if previous.generated and new.generated < previous.generated:
        raise Refused(
            f"generated {new.generated:%Y-%m-%dT%H:%M:%SZ}, older than the list in force "
            f"({previous.generated:%Y-%m-%dT%H:%M:%SZ})"
        )
    floor = previous.domains * (100 - settings.TRUSTLIST_MAX_DROP_PERCENT) / 100
    if len(new.domains) < floor:
        raise Refused(
            f"{len(new.domains)} domains against {previous.domains} in force: more than "
            f"{settings.TRUSTLIST_MAX_DROP_PERCENT} % fewer"
        )


@transaction.atomic
def swap(new: TrustList, source: str) -> TrustListLoad:
    """Replace the list in force in one transaction: a reader sees the old or the new."""
    TrustedDomain.objects.all().delete()
    TrustedDomain.objects.bulk_create(
        [
            TrustedDomain(
                name=d.name,
                display=d.display,
                description=d.description,
                operators=", ".join(d.operators)[:500],
            )
            for d in new.domains.values()
        ],
        batch_size=1000,
    )
    return TrustListLoad.objects.create(
        source=source[:500],
        accepted=True,
        generated=new.generated,
        domains=len(new.domains),
        skipped=new.skipped,
    )


def domain_of(address: str) -> str | None:
    """The A-label of an address's domain, None if it has none."""
    local, at, domain = address.strip().rpartition("@")
    return a_label(domain) if at and local else None


@dataclass(frozen=True)
class Decision:
    domain: str  # as typed when it is no domain at all
    trusted: bool
    unavailable: bool = False  # no list was ever loaded (TL5)


def decide(address: str) -> Decision:
    """TL5: inside the trust space iff the domain's A-label is listed exactly (no parent or
    sub-domain inference), or is one of the operator's own domains."""
    domain = domain_of(address)
    if domain is None:
        return Decision(address.rpartition("@")[2], trusted=False)
    own = {a_label(d) for d in settings.TRUSTLIST_OPERATOR_DOMAINS}
    if domain in own:
        return Decision(domain, trusted=True)
    if TrustedDomain.objects.filter(name=domain).exists():
        return Decision(domain, trusted=True)
    return Decision(domain, trusted=False, unavailable=not TrustedDomain.objects.exists())


@dataclass(frozen=True)
class Health:
    """What administrators are told about the trust list (TL3, TL5)."""

    in_force: TrustListLoad | None
    refused: TrustListLoad | None  # the latest attempt, when refused after the one in force
    stale: bool  # generated more than TRUSTLIST_STALE_DAYS ago (still used)

    @property
    def worrying(self) -> bool:
        return self.in_force is None or self.refused is not None or self.stale


def health() -> Health:
    in_force = current()
    latest = TrustListLoad.objects.order_by("-created", "-pk").first()
    refused = latest if latest is not None and not latest.accepted else None
    stale = bool(
        in_force
        and in_force.generated
        and timezone.now() - in_force.generated > timedelta(days=settings.TRUSTLIST_STALE_DAYS)
    )
    return Health(in_force, refused, stale)


def trusted_among(addresses: list[str]) -> set[str]:
    """The addresses inside the trust space, in two queries whatever their number."""
    domains = {address: domain_of(address) for address in addresses}
    own = {a_label(d) for d in settings.TRUSTLIST_OPERATOR_DOMAINS}
    listed = set(
        TrustedDomain.objects.filter(name__in={d for d in domains.values() if d}).values_list(
            "name", flat=True
        )
    )
    return {a for a, d in domains.items() if d and (d in own or d in listed)}
