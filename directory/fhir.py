"""DIR6 (SHOULD): an address chosen in the composer is confirmed live with the Annuaire
Santé FHIR API (`…?mailbox-mss:exact=<address>`), when an API key is configured: its type is
refreshed, and a mailbox now on the liste rouge leaves the directory (DIR4)."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from directory.models import DirectoryEntry
from directory.refresh import tls_context

METADATA = (
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/"
    "as-ext-mailbox-mss-metadata"
)
# PER and CAB mailboxes hang on practitioners (and their roles), ORG and APP on organisations.
RESOURCES = ("PractitionerRole", "Practitioner", "Organization")
PER_SECOND = 17  # the API's limit per application
TIMEOUT = 5
MAX_BYTES = 2 * 1024 * 1024


class Unavailable(Exception):
    """The API did not answer usefully; nothing is changed."""


@dataclass(frozen=True)
class LiveMailbox:
    address: str
    kind: str
    red_list: bool


def sub_extension(extension: dict[str, Any], url: str) -> dict[str, Any]:
    found = [e for e in extension.get("extension", []) if e.get("url") == url]
    return found[0] if found else {}


def mailboxes_in(bundle: dict[str, Any], address: str) -> list[LiveMailbox]:
    """The MSSanté telecom entries for `address` in a search Bundle."""
    found = []
    for entry in bundle.get("entry", []):
        for telecom in entry.get("resource", {}).get("telecom", []):
            if telecom.get("system") != "email" or telecom.get("value", "").lower() != address:
                continue
            for extension in telecom.get("extension", []):
                if extension.get("url") != METADATA:
                    continue
                codings = sub_extension(extension, "type").get("valueCodeableConcept", {})
                kind = next((c.get("code", "") for c in codings.get("coding", [])), "")
                red = sub_extension(extension, "listeRouge").get("valueBoolean") is True
                found.append(LiveMailbox(address, kind, red))
    return found


def allowed_now() -> bool:
    """At most PER_SECOND calls a second, across every process (Redis)."""
    key = f"directory:fhir:{int(time.time())}"
    cache.add(key, 0, 5)
    return cache.incr(key) <= PER_SECOND


def search(resource: str, address: str) -> dict[str, Any]:
    base = settings.ANNUAIRE_FHIR_URL.rstrip("/")
    query = urllib.parse.urlencode({"mailbox-mss:exact": address})
    request = urllib.request.Request(  # noqa: S310 - https, or loopback http (checked in settings)
        f"{base}/{resource}?{query}",
        headers={
            "ESANTE-API-KEY": settings.ANNUAIRE_FHIR_API_KEY,
            "Accept": "application/fhir+json",
        },
    )
    context = tls_context() if base.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as answer:  # noqa: S310
            data = answer.read(MAX_BYTES + 1)
    except OSError as exc:
        raise Unavailable(str(exc)) from None
    try:
        bundle = json.loads(data) if len(data) <= MAX_BYTES else None
    except ValueError:
        bundle = None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise Unavailable(f"{resource}: not a FHIR Bundle")
    return bundle


def look_up(address: str) -> list[LiveMailbox]:
    found: list[LiveMailbox] = []
    for resource in RESOURCES:
        if not allowed_now():
            raise Unavailable("rate limit")
        found += mailboxes_in(search(resource, address), address)
        if found:
            break
    return found


def do_confirm(address: str) -> LiveMailbox | None:
    """Confirm one address live; None when not configured, unknown or unavailable. A
    mailbox on the liste rouge is dropped from the directory; a changed type is kept."""
    address = address.strip().lower()
    if not settings.ANNUAIRE_FHIR_API_KEY or "@" not in address:
        return None
    try:
        found = look_up(address)
    except Unavailable:
        return None
    if not found:
        return None
    live = LiveMailbox(address, found[0].kind, any(m.red_list for m in found))
    entries = DirectoryEntry.objects.filter(address=address)
    if live.red_list:
        entries.delete()
    elif live.kind in {"PER", "ORG", "APP", "CAB"}:
        entries.exclude(kind=live.kind).update(kind=live.kind)
    return live
