"""DIR6: a chosen address confirmed live with the Annuaire Santé FHIR API (a loopback
look-alike here, answering as the IG's examples do)."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from pytest_django import Settings

from directory import fhir, search
from directory.annuaire import do_import_annuaire
from directory.models import DirectoryEntry
from mailboxes.models import User
from tests.conftest import client_for
from webmail.demo import annuaire

pytestmark = pytest.mark.django_db
KARIM = "karim.benali@hopital-c.mssante.test"
SERVICE = "cardiologie@hopital-c.mssante.test"


def telecom(address: str, kind: str, red: bool) -> dict[str, object]:
    coding = {"system": "https://mos.esante.gouv.fr/NOS/TRE_R257-TypeBAL/FHIR/TRE-R257-TypeBAL"}
    return {
        "extension": [
            {
                "extension": [
                    {"url": "type", "valueCodeableConcept": {"coding": [{**coding, "code": kind}]}},
                    {"url": "listeRouge", "valueBoolean": red},
                ],
                "url": fhir.METADATA,
            }
        ],
        "system": "email",
        "value": address,
    }


# What the look-alike knows: resource type -> address -> (type, liste rouge).
KNOWN = {"PractitionerRole": {KARIM: ("PER", True)}, "Organization": {SERVICE: ("APP", False)}}


@pytest.fixture
def annuaire_api(settings: Settings) -> Iterator[list[str]]:
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            resource = path.rsplit("/", 1)[-1]
            address = urllib.parse.parse_qs(query).get("mailbox-mss:exact", [""])[0]
            asked.append(f"{resource} {address} {self.headers.get('ESANTE-API-KEY')}")
            entries = [
                {"resource": {"resourceType": resource, "telecom": [telecom(address, *known)]}}
                for a, known in KNOWN.get(resource, {}).items()
                if a == address
            ]
            body = json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries})
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ANNUAIRE_FHIR_URL = f"http://127.0.0.1:{server.server_address[1]}/fhir/v2"
    settings.ANNUAIRE_FHIR_API_KEY = "cle-de-test"
    yield asked
    server.shutdown()


@pytest.fixture
def demo(tmp_path: Path) -> None:
    do_import_annuaire(annuaire.write(tmp_path / "a.txt", annuaire.demo_rows()))


def test_a_mailbox_now_on_the_liste_rouge_leaves_the_directory(
    annuaire_api: list[str], demo: None, marie: User
) -> None:
    live = fhir.do_confirm(KARIM)
    assert live == fhir.LiveMailbox(KARIM, "PER", red_list=True)
    assert annuaire_api[0].startswith("PractitionerRole " + KARIM)
    assert annuaire_api[0].endswith("cle-de-test")  # the API key header
    assert not DirectoryEntry.objects.filter(address=KARIM).exists()
    assert KARIM not in [s.address for s in search.suggest(marie, "card")]


def test_a_changed_type_is_refreshed(annuaire_api: list[str], demo: None) -> None:
    assert fhir.do_confirm(SERVICE) == fhir.LiveMailbox(SERVICE, "APP", red_list=False)
    assert DirectoryEntry.objects.get(address=SERVICE).kind == "APP"
    assert len(annuaire_api) == 3  # PractitionerRole, Practitioner, then Organization


def test_nothing_is_asked_without_an_api_key_nor_changed_when_unavailable(
    annuaire_api: list[str], demo: None, settings: Settings
) -> None:
    settings.ANNUAIRE_FHIR_API_KEY = ""
    assert fhir.do_confirm(KARIM) is None and annuaire_api == []
    settings.ANNUAIRE_FHIR_API_KEY = "cle"
    settings.ANNUAIRE_FHIR_URL = "http://127.0.0.1:9/fhir/v2"  # nobody listens
    assert fhir.do_confirm(KARIM) is None
    assert DirectoryEntry.objects.filter(address=KARIM).exists()


def test_the_composer_asks_by_post(annuaire_api: list[str], demo: None, marie: User) -> None:
    url = reverse("directory-confirm")
    client = client_for(marie)
    assert client.get(url).status_code == 405
    answer = client.post(url, {"address": KARIM}).json()
    assert answer == {"confirmed": True, "kind": "PER", "red_list": True}
