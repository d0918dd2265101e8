"""The Annuaire Santé extraction: import (DIR1–DIR4) and suggestions (DIR5), on both engines."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from directory import search
from directory.annuaire import do_import_annuaire
from directory.models import DirectoryEntry, DirectoryImport
from mailboxes.models import AuditEvent, Mailbox, Outgoing, User
from tests.conftest import client_for
from tests.directory.lists import put_in_force
from webmail.demo import annuaire

pytestmark = [pytest.mark.django_db, pytest.mark.both_engines]
KARIM = "karim.benali@hopital-c.mssante.test"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return annuaire.write(
        tmp_path / "Extraction_Correspondance_MSSante_202612010300.txt", annuaire.demo_rows()
    )


def addresses() -> set[str]:
    return set(DirectoryEntry.objects.values_list("address", flat=True))


def test_it_imports_columns_by_name_in_any_order_with_extra_ones_and_a_bom(tmp_path: Path) -> None:
    """DIR2: columns matched by header name; order and extra columns tolerated; BOM."""
    header = [*reversed(annuaire.HEADER), "Colonne ajoutée"]
    rows = [[*reversed(r), "x"] for r in annuaire.demo_rows()]
    outcome = do_import_annuaire(annuaire.write(tmp_path / "a.txt", rows, header, bom=True))
    assert outcome.accepted and (outcome.read, outcome.imported, outcome.skipped) == (8, 8, 0)
    karim = DirectoryEntry.objects.get(address=KARIM)
    assert (karim.civility, karim.first_name, karim.last_name) == ("Dr", "Karim", "BENALI")
    assert karim.specialty == "Cardiologie et maladies vasculaires"
    assert (karim.structure, karim.city, karim.postal_code) == (
        "Centre hospitalier de C",
        "LYON",
        "69003",
    )
    assert karim.national_id == "810107654321" and karim.kind == "PER"


def test_it_counts_and_skips_bad_rows(tmp_path: Path) -> None:
    """DIR2: a wrong field count or an invalid address is counted and skipped."""
    rows = annuaire.demo_rows()
    short = rows[0][:-1]
    long = [*rows[1], "en trop"]
    bad_address = annuaire.person("pas-une-adresse", "DR", "A", "B", "810000000099")
    bad_kind = annuaire.structure_mailbox("XYZ", "x@ch-xyz.mssante.fr")
    path = annuaire.write(tmp_path / "a.txt", [short, long, bad_address, bad_kind, *rows[2:]])
    with path.open("ab") as f:
        f.write(b"PER|\xff\xfe@ch.mssante.fr" + b"|" * 29 + b"\n")  # not UTF-8
    outcome = do_import_annuaire(path)
    assert outcome.accepted and (outcome.read, outcome.imported, outcome.skipped) == (11, 6, 5)
    assert KARIM not in addresses()


def test_it_never_stores_a_mailbox_on_the_liste_rouge(tmp_path: Path) -> None:
    """DIR4: "ne doit pas être publiée": neither stored nor suggested."""
    header = [*annuaire.HEADER, "Liste rouge"]
    rows = [[*r, "false"] for r in annuaire.demo_rows()]
    rows[1][-1] = "true"  # Karim
    outcome = do_import_annuaire(annuaire.write(tmp_path / "a.txt", rows, header))
    assert outcome.accepted and outcome.red_list == 1 and outcome.imported == 7
    assert KARIM not in addresses()
    assert KARIM not in DirectoryEntry.objects.values_list("words", flat=True)


def test_a_mailbox_gone_from_the_extraction_is_gone_at_the_next_import(
    demo: Path, tmp_path: Path, marie: User
) -> None:
    """DIR3/DIR4: the directory is replaced as a whole; a repeated address is kept once."""
    assert do_import_annuaire(demo).accepted
    rows = [r for r in annuaire.demo_rows() if r[1] != "helene.moreau@ch-xyz.mssante.fr"]
    rows.append(rows[0])
    assert do_import_annuaire(annuaire.write(tmp_path / "b.txt", rows)).accepted
    assert "helene.moreau@ch-xyz.mssante.fr" not in addresses() and len(addresses()) == 7
    assert not search.suggest(marie, "moreau")
    assert [s.address for s in search.suggest(marie, "benali")] == [KARIM]


def test_it_refuses_an_extraction_without_its_required_columns(demo: Path, tmp_path: Path) -> None:
    assert do_import_annuaire(demo).accepted
    header = [h if h != "Adresse BAL" else "Adresse" for h in annuaire.HEADER]
    refused = do_import_annuaire(annuaire.write(tmp_path / "b.txt", annuaire.demo_rows(), header))
    assert not refused.accepted and "address" in refused.reason
    assert len(addresses()) == 8  # the previous directory stays
    event = AuditEvent.objects.filter(action="directory.import").latest("created")
    assert event.outcome == "error"


def test_it_refuses_an_extraction_with_fewer_than_half_the_rows(demo: Path, tmp_path: Path) -> None:
    """DIR3: a suspicious import keeps the previous data."""
    assert do_import_annuaire(demo).accepted
    refused = do_import_annuaire(annuaire.write(tmp_path / "b.txt", annuaire.demo_rows()[:3]))
    assert not refused.accepted and "fewer than half" in refused.reason
    assert len(addresses()) == 8
    assert do_import_annuaire(annuaire.write(tmp_path / "c.txt", annuaire.demo_rows()[:4])).accepted


def test_it_reads_the_zip_the_ans_publishes(demo: Path, tmp_path: Path) -> None:
    """DIR1: one entry; a ZIP with two is refused."""
    one = tmp_path / "extraction.zip"
    with zipfile.ZipFile(one, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(demo, demo.name)
    assert do_import_annuaire(one).accepted and len(addresses()) == 8
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.write(demo, "a.txt")
        archive.write(demo, "b.txt")
    refused = do_import_annuaire(two)
    assert not refused.accepted and "2 entries" in refused.reason


def test_the_command_reports_its_counts(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("import_annuaire", str(demo))
    assert "8 rows read, 8 mailboxes imported, 0 skipped" in capsys.readouterr().out
    with pytest.raises(CommandError, match="the directory stays"):
        call_command("import_annuaire", str(tmp_path / "missing.txt"))
    assert DirectoryImport.objects.filter(accepted=False).count() == 1


def test_it_suggests_by_any_word_without_accents_nor_case(demo: Path, marie: User) -> None:
    """DIR5: name, first name, address, RPPS, profession/specialty, structure, city, postal code."""
    do_import_annuaire(demo)

    def found(query: str) -> list[str]:
        return [s.address for s in search.suggest(marie, query)]

    assert found("lefevre") == found("LEFÈVRE") == ["jeanne.lefevre@operateur-a.mssante.test"]
    assert found("helene") == ["helene.moreau@ch-xyz.mssante.fr"]
    assert found("8101076") == [KARIM]  # RPPS
    assert set(found("pharmacie marc")) == {  # the pharmacy, and its pharmacist
        "pharmacie.marche@operateur-a.mssante.test",
        "jeanne.lefevre@operateur-a.mssante.test",
    }
    assert set(found("bordeaux")) == {"helene.moreau@ch-xyz.mssante.fr", "dpi@ch-xyz.mssante.fr"}
    assert set(found("6900")) == {KARIM, "cardiologie@hopital-c.mssante.test"}
    assert found("ca") == [] and found("") == []  # from three characters
    assert found("card lyon") and set(found("card lyon")) == {
        KARIM,
        "cardiologie@hopital-c.mssante.test",
    }


def test_card_offers_karim_and_the_cardiology_service_with_their_structure(
    demo: Path, marie: User
) -> None:
    """The demo's promise: "card" in À."""
    do_import_annuaire(demo)
    found = {s.address: s for s in search.suggest(marie, "card")}
    karim = found[KARIM]
    assert karim.name == "Dr Karim BENALI" and karim.kind == "PER"
    assert karim.detail == "Cardiologie et maladies vasculaires — Centre hospitalier de C — LYON"
    service = found["cardiologie@hopital-c.mssante.test"]
    assert (service.name, service.kind) == ("Service de cardiologie", "ORG")
    assert service.detail == "Centre hospitalier de C — LYON"


def test_recent_correspondents_come_first_with_the_trust_mark(
    demo: Path, marie: User, marie_mailbox: Mailbox, settings: Settings
) -> None:
    settings.TRUSTLIST_OPERATOR_DOMAINS = ["operateur-a.mssante.test", "hopital-c.mssante.test"]
    put_in_force("ch-xyz.mssante.fr")
    do_import_annuaire(demo)
    Outgoing.objects.create(
        mailbox=marie_mailbox, author=marie, message_id="<1@x>", recipients=[KARIM]
    )
    Outgoing.objects.create(
        mailbox=marie_mailbox, author=marie, message_id="<2@x>", recipients=["dr.card@gmail.com"]
    )
    found = search.suggest(marie, "card")
    assert [(s.address, s.recent, s.trusted) for s in found[:2]] == [
        ("dr.card@gmail.com", True, False),  # the latest, outside the trust space: ⚠
        (KARIM, True, True),
    ]
    others = {s.address: s.trusted for s in found[2:]}
    assert others == {
        "cardiologie@hopital-c.mssante.test": True,
        "helene.moreau@ch-xyz.mssante.fr": True,
    }


def test_the_suggestions_answer_by_post_to_people_logged_in_and_are_throttled(
    demo: Path, marie: User, settings: Settings
) -> None:
    do_import_annuaire(demo)
    url = reverse("directory-suggest")
    client = client_for(marie)
    assert client.get(url, {"q": "card"}).status_code == 405
    assert Client().post(url, {"q": "card"}).status_code == 302  # to the login page
    minute = int(time.time() // 60)
    cache.delete_many([f"directory:suggest:{marie.pk}:{m}" for m in (minute, minute + 1)])
    answer = client.post(url, {"q": "benali"}).json()["results"]
    assert answer[0]["address"] == KARIM and answer[0]["kind_label"] == "boîte personnelle"
    settings.DIRECTORY_SUGGEST_PER_MINUTE = 2
    statuses = [client.post(url, {"q": "benali"}).status_code for _ in range(3)]
    assert 429 in statuses


def test_the_directory_page_finds_by_post_and_writes_in_one_click(
    demo: Path, marie: User, marie_mailbox: Mailbox, settings: Settings
) -> None:
    settings.TRUSTLIST_OPERATOR_DOMAINS = ["hopital-c.mssante.test"]
    do_import_annuaire(demo)
    client = client_for(marie)
    url = reverse("directory-page")
    assert "Annuaire" in client.get(url).content.decode()
    minute = int(time.time() // 60)
    cache.delete_many([f"directory:suggest:{marie.pk}:{m}" for m in (minute, minute + 1)])
    page = client.post(url, {"q": "cardio"}).content.decode()
    assert "Dr Karim BENALI" in page and "Service de cardiologie" in page
    write = (
        reverse("mail-compose", args=[marie_mailbox.pk])
        + "?to=karim.benali%40hopital-c.mssante.test"
    )
    assert write in page
    assert "boîte organisationnelle" in page
    assert "Personne dans l’annuaire" in client.post(url, {"q": "zzzzz"}).content.decode()


def test_it_refuses_a_zip_that_inflates_too_much(demo: Path, tmp_path: Path) -> None:
    """DIR1: XDM-R3-style limits (ratio ≤ 50)."""
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("extraction.txt", demo.read_text() + "PER|" + "|" * 30 * 200_000)
    refused = do_import_annuaire(bomb)
    assert not refused.accepted and "too compressed" in refused.reason
