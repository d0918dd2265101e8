"""TL1: the list is fetched over verified TLS only: against the configured IGC-Santé bundle,
else the system's authorities; an unknown certificate is refused, the old list kept."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django import Settings

from directory.models import TrustedDomain
from directory.refresh import do_refresh_trust_list
from tests.directory.lists import fillers, trust_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def https_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback https server with its own self-signed certificate, serving a list."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp_path / "liste.xml").write_bytes(trust_list(fillers(12)))

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/liste.xml", cert
    server.shutdown()


def test_it_refuses_a_site_whose_certificate_it_cannot_verify(
    https_site: tuple[str, Path], settings: Settings
) -> None:
    settings.TRUSTLIST_MIN_DOMAINS = 10
    url, _ = https_site
    refused = do_refresh_trust_list(url)
    assert not refused.accepted and "CERTIFICATE_VERIFY_FAILED" in refused.reason
    assert not TrustedDomain.objects.exists()


def test_it_fetches_over_tls_verified_against_the_configured_bundle(
    https_site: tuple[str, Path], settings: Settings
) -> None:
    settings.TRUSTLIST_MIN_DOMAINS = 10
    url, cert = https_site
    settings.TRUSTLIST_CA_FILE = str(cert)  # as the IGC-Santé chain would be
    assert do_refresh_trust_list(url).accepted
    assert TrustedDomain.objects.count() == 12
