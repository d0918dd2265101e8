"""The MSSanté trust list: strict reading, acceptance, swap and decisions (TL2–TL5)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone
from pytest_django import Settings

from directory import trustlist
from directory.models import TrustedDomain, TrustListLoad
from directory.refresh import do_refresh_trust_list
from mailboxes.models import AuditEvent, User
from tests.conftest import REPO
from tests.directory.lists import domaine, fillers, trust_list
from webmail.context_processors import trust_list as trust_list_context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_lists(settings: Settings) -> None:
    settings.TRUSTLIST_MIN_DOMAINS = 10
    settings.TRUSTLIST_MAX_DROP_PERCENT = 20
    settings.TRUSTLIST_OPERATOR_DOMAINS = ["operateur-a.mssante.test"]


def load(tmp_path: Path, data: bytes, name: str = "liste.xml") -> TrustListLoad:
    path = tmp_path / name
    path.write_bytes(data)
    return do_refresh_trust_list(str(path))


def test_it_reads_duplicates_upper_case_and_an_idn_as_the_ans_publishes_them(
    tmp_path: Path,
) -> None:
    """TL2, TL4: one domain per name whatever its certificates; A-label lower case."""
    names = [*fillers(10), "15-20.mssante.fr", "15-20.mssante.fr", "UC-CMP.mssante.fr"]
    names.append("clinique-été.mssante.fr")
    accepted = load(tmp_path, trust_list(names))
    assert accepted.accepted and accepted.domains == 13 and accepted.skipped == 0
    twice = TrustedDomain.objects.get(name="15-20.mssante.fr")
    assert twice.operators == "OPERATEUR 1, OPERATEUR 2"  # both certificates kept for display
    assert TrustedDomain.objects.filter(name="uc-cmp.mssante.fr").exists()
    idn = TrustedDomain.objects.get(name="xn--clinique-t-j7ab.mssante.fr")
    assert idn.display == "clinique-été.mssante.fr"
    assert trustlist.decide("Secretariat@Clinique-Été.mssante.fr").trusted


def test_it_skips_and_counts_the_names_that_are_no_hostnames(tmp_path: Path) -> None:
    """TL4: the real list once held a name with "@"."""
    bad = ["contact@ch-x.mssante.fr", "deux mots.mssante.fr", "a/b.mssante.fr", "x..fr", ""]
    bad.append(("a" * 64) + ".mssante.fr")
    accepted = load(tmp_path, trust_list([*fillers(10), *bad]))
    assert accepted.accepted and (accepted.domains, accepted.skipped) == (10, 6)
    assert TrustedDomain.objects.count() == 10


def test_it_refuses_a_truncated_list_and_keeps_the_one_in_force(tmp_path: Path) -> None:
    """TL2: no recover mode for a security decision; TL3: the old list stays, and says why."""
    load(tmp_path, trust_list(fillers(12)))
    refused = load(
        tmp_path, trust_list(fillers(30, "autre"), "2025-04-01T00:00:00Z", truncated=True)
    )
    assert not refused.accepted and "well-formed" in refused.reason
    assert TrustedDomain.objects.count() == 12
    assert trustlist.decide("a@etab3.mssante.fr").trusted
    event = AuditEvent.objects.filter(action="trustlist.refresh").latest("created")
    assert event.outcome == "error" and "well-formed" in event.response


def test_it_refuses_a_list_older_than_the_one_in_force(tmp_path: Path) -> None:
    load(tmp_path, trust_list(fillers(12), "2025-03-13T14:54:10Z"))
    refused = load(tmp_path, trust_list(fillers(15, "autre"), "2025-03-12T00:00:00Z"))
    assert not refused.accepted and "older" in refused.reason
    assert not trustlist.decide("x@autre1.mssante.fr").trusted
    assert load(tmp_path, trust_list(fillers(15, "autre"), "2025-03-13T14:54:10Z")).accepted


def test_it_refuses_a_list_much_smaller_than_the_one_in_force(tmp_path: Path) -> None:
    """TL3: at most 20 % fewer domains; exactly 20 % fewer is accepted."""
    load(tmp_path, trust_list(fillers(100)))
    refused = load(tmp_path, trust_list(fillers(79), "2025-03-14T00:00:00Z"))
    assert not refused.accepted and "20 %" in refused.reason
    assert TrustedDomain.objects.count() == 100
    assert load(tmp_path, trust_list(fillers(80), "2025-03-14T00:00:00Z")).accepted
    assert TrustedDomain.objects.count() == 80  # the disappeared ones are gone


def test_it_refuses_a_list_below_the_minimum_size(tmp_path: Path, settings: Settings) -> None:
    settings.TRUSTLIST_MIN_DOMAINS = 1000  # the default: the real list has about 5,000
    refused = load(tmp_path, trust_list(fillers(999)))
    assert not refused.accepted and "999 valid domains" in refused.reason
    assert load(tmp_path, trust_list(fillers(1000))).accepted


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (trust_list(fillers(12), namespace="https://example.org/other"), "root"),
        (trust_list(fillers(12), generated="hier"), "DateDeGeneration"),
        (trust_list(fillers(12), generated="2025-03-13T14:54:10"), "DateDeGeneration"),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>", "DOCTYPE"),
        (b"", "well-formed"),
    ],
)
def test_it_refuses_what_is_not_a_trust_list(tmp_path: Path, data: bytes, why: str) -> None:
    refused = load(tmp_path, data)
    assert not refused.accepted and why in refused.reason
    assert not TrustedDomain.objects.exists()


def test_it_never_resolves_an_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("root:x:0:0")
    entry = domaine("&xxe;")
    doctype = f'<!DOCTYPE ListeBlancheMSSante [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    data = trust_list(fillers(12), raw_entries=entry).replace(b"?>", b"?>" + doctype.encode(), 1)
    refused = load(tmp_path, data)
    assert not refused.accepted
    assert not TrustedDomain.objects.filter(name__contains="root").exists()


def test_it_decides_on_exact_domains_only(tmp_path: Path) -> None:
    """TL5: no parent or sub-domain inference; each domain is listed on its own."""
    load(tmp_path, trust_list([*fillers(10), "ch-xyz.mssante.fr", "patient.mssante.fr"]))
    assert trustlist.decide("cardiologie@ch-xyz.mssante.fr").trusted
    assert trustlist.decide("123@patient.mssante.fr").trusted
    assert not trustlist.decide("a@service.ch-xyz.mssante.fr").trusted  # sub-domain
    assert not trustlist.decide("a@mssante.fr").trusted  # parent
    assert not trustlist.decide("a@ch-xyz.mssante.fr.evil.example").trusted
    assert not trustlist.decide("dr.house@gmail.com").trusted
    assert trustlist.decide("jeanne@operateur-a.mssante.test").trusted  # the operator's own
    assert not trustlist.decide("not an address").trusted


def test_it_says_the_list_is_unavailable_when_none_was_ever_loaded() -> None:
    """TL5: external domains are blocked with "liste blanche indisponible"."""
    decision = trustlist.decide("a@ch-xyz.mssante.fr")
    assert not decision.trusted and decision.unavailable
    assert trustlist.decide("jeanne@operateur-a.mssante.test").trusted


def test_the_command_loads_a_file_and_refuses_plain_http(tmp_path: Path) -> None:
    """TL1: a file, or https only (verified TLS)."""
    path = tmp_path / "liste.xml"
    path.write_bytes(trust_list(fillers(11)))
    call_command("refresh_trust_list", str(path))
    assert TrustedDomain.objects.count() == 11
    with pytest.raises(CommandError, match="https"):
        call_command("refresh_trust_list", "http://espacedeconfiance.mssante.fr/liste.xml")
    assert TrustedDomain.objects.count() == 11


def banner_for(user: User) -> str:
    request = RequestFactory().get("/")
    request.user = user
    context = trust_list_context(request)
    health = context["trust_list_health"]()
    return render_to_string("components/trust_list_banner.html", {"trust_list_health": health})


def test_administrators_are_told_why_a_list_was_refused(tmp_path: Path, alice: User) -> None:
    """TL3: the banner; a person who is no administrator sees nothing of it."""
    admin = User.objects.create_user("admin", is_staff=True)
    assert "Aucune liste blanche MSSanté" in banner_for(admin)
    load(tmp_path, trust_list(fillers(12), generated=timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")))
    assert banner_for(admin).strip() == ""
    load(tmp_path, trust_list(fillers(30), truncated=True))
    banner = banner_for(admin)
    assert "La dernière liste blanche MSSanté a été refusée" in banner and "well-formed" in banner
    assert "La liste en vigueur (12 domaines)" in banner
    assert banner_for(alice).strip() == ""


def test_administrators_are_warned_of_an_old_list_still_in_use(tmp_path: Path) -> None:
    """TL5: older than 7 days, the list is still used, and administrators are told."""
    admin = User.objects.create_user("admin", is_staff=True)
    load(tmp_path, trust_list(fillers(12), generated="2025-03-13T14:54:10Z"))
    assert "générée le 13/03/2025" in banner_for(admin)
    assert trustlist.decide("x@etab1.mssante.fr").trusted


def test_the_demo_ships_a_list_in_the_real_format(settings: Settings) -> None:
    settings.TRUSTLIST_MIN_DOMAINS = 3  # as scripts/demo.sh sets it
    load = do_refresh_trust_list(str(REPO / "webmail" / "demo" / "listeblanche.xml"))
    assert load.accepted and load.domains == 8
    assert trustlist.decide("karim.benali@hopital-c.mssante.test").trusted
    assert trustlist.decide("123@patient.mssante.fr").trusted
    assert not trustlist.decide("dr.house@gmail.com").trusted


def test_a_starting_worker_asks_for_the_list_only_when_none_was_loaded(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TL3: "at startup when empty"."""
    from directory import tasks

    asked: list[bool] = []
    monkeypatch.setattr(tasks.refresh_trust_list, "delay", lambda: asked.append(True))
    settings.TRUSTLIST_REFRESH_AT_START = True
    tasks.load_trust_list_when_empty()
    assert asked == [True]
    load(tmp_path, trust_list(fillers(12)))
    tasks.load_trust_list_when_empty()
    assert asked == [True]


def test_it_checks_the_mirrors_checksum_when_told_to(tmp_path: Path, settings: Settings) -> None:
    """TL1: the SHA-256 of ansforge/MSS-liste-blanche's `checksum` file."""
    data = trust_list(fillers(12))
    checksum = tmp_path / "checksum"
    settings.TRUSTLIST_CHECKSUM_SOURCE = str(checksum)
    checksum.write_text("0" * 64)
    refused = load(tmp_path, data)
    assert not refused.accepted and "differs from the checksum" in refused.reason
    checksum.write_text(hashlib.sha256(data).hexdigest())
    assert load(tmp_path, data).accepted
