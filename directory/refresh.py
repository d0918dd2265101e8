"""Refreshing the trust list (TL1, TL3): read it from the ANS site or a file, accept it or
keep the one in force, and say which in the audit trail."""

from __future__ import annotations

import hashlib
import ssl
import urllib.request
from pathlib import Path
from typing import IO

from django.conf import settings

from directory import trustlist
from directory.models import TrustListLoad
from mailboxes import audit
from mailboxes.models import AuditEvent

TIMEOUT = 30  # seconds (TL1)
MAX_BYTES = 20 * 1024 * 1024  # the real list is about 4 MB


def tls_context() -> ssl.SSLContext:
    """Verified TLS: against the IGC-Santé chain when its bundle is configured (TL1), else
    the system's authorities; never unverified."""
    return ssl.create_default_context(cafile=settings.TRUSTLIST_CA_FILE or None)


def download(url: str, into: IO[bytes], limit: int) -> None:
    """An https URL's body into a file, over verified TLS, at most `limit` bytes (DIR1)."""
    request = urllib.request.Request(url, headers={"User-Agent": "webmail-mssante"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT, context=tls_context()) as r:  # noqa: S310
        total = 0
        while chunk := r.read(1024 * 1024):
            total += len(chunk)
            if total > limit:
                raise OSError(f"{url} is larger than {limit} bytes")
            into.write(chunk)
    into.flush()


def read(source: str) -> bytes:
    """The bytes of the list at an https:// URL or in a file; Refused beyond MAX_BYTES."""
    if source.startswith("https://"):
        # The scheme is https (checked above): no file:// or custom scheme gets through.
        request = urllib.request.Request(source, headers={"User-Agent": "webmail-mssante"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=tls_context()) as r:  # noqa: S310
                data: bytes = r.read(MAX_BYTES + 1)
        except OSError as exc:
            raise trustlist.Refused(f"cannot fetch {source}: {exc}") from None
    elif "://" in source:
        raise trustlist.Refused("only an https:// URL or a file path is accepted")
    else:
        try:
            with Path(source).open("rb") as f:
                data = f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise trustlist.Refused(f"cannot read {source}: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise trustlist.Refused(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    return data


def check_sum(data: bytes, source: str) -> None:
    """TL1: the GitHub mirror (ansforge/MSS-liste-blanche) publishes the list's SHA-256 in a
    `checksum` file; Refused when the list read is not the one it names."""
    expected = read(source).decode("ascii", "replace").split()
    actual = hashlib.sha256(data).hexdigest()
    if not expected or expected[0].lower() != actual:
        raise trustlist.Refused(f"SHA-256 {actual} differs from the checksum at {source}")


def do_refresh_trust_list(source: str = "") -> TrustListLoad:
    """Read, check and swap in a new trust list. A refused list leaves the one in force,
    and the refusal is kept (audit `trustlist.refresh` error, the administrators' banner)."""
    source = source or settings.TRUSTLIST_SOURCE
    try:
        data = read(source)
        if settings.TRUSTLIST_CHECKSUM_SOURCE:
            check_sum(data, settings.TRUSTLIST_CHECKSUM_SOURCE)
        new = trustlist.parse(data)
        trustlist.check(new, trustlist.current())
    except trustlist.Refused as exc:
        load = TrustListLoad.objects.create(source=source[:500], reason=str(exc)[:500])
        audit.record(
            None,
            "trustlist.refresh",
            target=source,
            outcome=AuditEvent.Outcome.ERROR,
            response=str(exc),
        )
        return load
    load = trustlist.swap(new, source)
    audit.record(
        None,
        "trustlist.refresh",
        target=source,
        response=f"{load.domains} domains, {load.skipped} invalid names skipped",
    )
    return load
