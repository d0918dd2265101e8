"""Annuaire Santé MSSanté extractions in the real format (REFERENCE.md §5): the demo's, and
generated ones for tests and benchmarks. Fictitious people and structures."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from pathlib import Path

HEADER = [
    "Type de BAL", "Adresse BAL", "Type Identifiant PP", "Identifiant PP",
    "Identification nationale PP", "Type identifiant structure", "Identification Structure",
    "Service de rattachement", "Civilité d'exercice", "Nom d'exercice", "Prénom d'exercice",
    "Catégorie profession", "Libellé de catégorie profession", "Code Profession",
    "Libellé Profession", "Code savoir-faire", "Libellé savoir-faire", "Dématérialisation",
    "Raison Sociale structure BAL", "Enseigne commerciale structure BAL",
    "L2COMPLEMENTLOCALISATION structure BAL", "L3COMPLEMENTDISTRIBUTION structure BAL",
    "L4NUMEROVOIE structure BAL", "L4COMPLEMENTNUMEROVOIE structure BAL",
    "NL4TYPEVOIE structure BAL", "L4LIBELLEVOIE structure BAL",
    "L5LIEUDITMENTION structure BAL", "L6LIGNEACHEMINEMENT structure BAL",
    "Code postal structure BAL", "Département structure BAL", "Pays structure BAL",
]  # fmt: skip
DEMO = Path(__file__).with_name("annuaire.txt")


def row(**values: str) -> list[str]:
    """One line's fields, by header name; the others empty."""
    unknown = set(values) - set(HEADER)
    assert not unknown, unknown  # noqa: S101 - a typo in demo or test data
    return [values.get(name, "") for name in HEADER]


def person(address: str, civility: str, first: str, last: str, rpps: str, **more: str) -> list[str]:
    return row(
        **{
            "Type de BAL": "PER",
            "Adresse BAL": address,
            "Type Identifiant PP": "8",
            "Identifiant PP": rpps[1:],
            "Identification nationale PP": rpps,
            "Civilité d'exercice": civility,
            "Nom d'exercice": last,
            "Prénom d'exercice": first,
            "Dématérialisation": "O",
            "Pays structure BAL": "FRANCE",
            **more,
        }
    )


def structure_mailbox(kind: str, address: str, **more: str) -> list[str]:
    return row(
        **{"Type de BAL": kind, "Adresse BAL": address, "Pays structure BAL": "FRANCE", **more}
    )


HOSPITAL = {
    "Type identifiant structure": "1",
    "Identification Structure": "1750000026",
    "Raison Sociale structure BAL": "Centre hospitalier de C",
    "L4NUMEROVOIE structure BAL": "12",
    "NL4TYPEVOIE structure BAL": "R",
    "L4LIBELLEVOIE structure BAL": "DES HOPITAUX",
    "L6LIGNEACHEMINEMENT structure BAL": "69003 LYON",
    "Code postal structure BAL": "69003",
    "Département structure BAL": "69",
}
PRACTICE = {
    "Raison Sociale structure BAL": "Cabinet médical des Tilleuls",
    "L6LIGNEACHEMINEMENT structure BAL": "75011 PARIS",
    "Code postal structure BAL": "75011",
    "Département structure BAL": "75",
}
PHARMACY = {
    "Type identifiant structure": "1",
    "Identification Structure": "1750012345",
    "Raison Sociale structure BAL": "Pharmacie du Marché",
    "L6LIGNEACHEMINEMENT structure BAL": "75011 PARIS",
    "Code postal structure BAL": "75011",
    "Département structure BAL": "75",
}
GP = {"Code Profession": "10", "Libellé Profession": "Médecin", "Code savoir-faire": "SM54",
      "Libellé savoir-faire": "Médecine Générale (SM)"}  # fmt: skip
CARDIO = {"Code Profession": "10", "Libellé Profession": "Médecin", "Code savoir-faire": "SM04",
          "Libellé savoir-faire": "Cardiologie et maladies vasculaires"}  # fmt: skip


def demo_rows() -> list[list[str]]:
    """The demo's professionals and services, and a few colleagues elsewhere."""
    return [
        person("marie.durand@operateur-a.mssante.test", "DR", "Marie", "DURAND", "810101234567", **GP, **PRACTICE),
        person("karim.benali@hopital-c.mssante.test", "DR", "Karim", "BENALI", "810107654321", **CARDIO, **HOSPITAL),
        person("jeanne.lefevre@operateur-a.mssante.test", "MME", "Jeanne", "LEFÈVRE", "810209876543",
               **{"Code Profession": "21", "Libellé Profession": "Pharmacien"}, **PHARMACY),
        structure_mailbox("ORG", "cardiologie@hopital-c.mssante.test",
                          **{"Service de rattachement": "Service de cardiologie"}, **HOSPITAL),
        structure_mailbox("ORG", "pharmacie.marche@operateur-a.mssante.test", **PHARMACY),
        person("helene.moreau@ch-xyz.mssante.fr", "DR", "Hélène", "MOREAU", "810100000011", **CARDIO,
               **{"Raison Sociale structure BAL": "Centre hospitalier XYZ", "L6LIGNEACHEMINEMENT structure BAL": "33000 BORDEAUX",
                  "Code postal structure BAL": "33000", "Département structure BAL": "33"}),
        structure_mailbox("APP", "dpi@ch-xyz.mssante.fr",
                          **{"Raison Sociale structure BAL": "Centre hospitalier XYZ",
                             "Service de rattachement": "Dossier patient informatisé",
                             "L6LIGNEACHEMINEMENT structure BAL": "33000 BORDEAUX", "Code postal structure BAL": "33000"}),
        person("paul.martin@medecin.mssante.fr", "DR", "Paul", "MARTIN", "810100000022", **GP,
               **{"Raison Sociale structure BAL": "Cabinet du Dr Martin", "L6LIGNEACHEMINEMENT structure BAL": "13001 MARSEILLE",
                  "Code postal structure BAL": "13001", "Département structure BAL": "13"}),
    ]  # fmt: skip


def lines(rows: Iterable[list[str]], header: list[str] = HEADER) -> Iterator[str]:
    yield "|".join(header) + "\n"
    for values in rows:
        yield "|".join(values) + "\n"


def write(
    path: Path, rows: Iterable[list[str]], header: list[str] = HEADER, bom: bool = False
) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        f.writelines(lines(rows, header))
    return path


FIRST = ["Marie", "Jean", "Hélène", "Karim", "Sophie", "Luc", "Chloé", "Ana", "Éric", "Inès",
         "Thomas", "Nadia", "Pierre", "Léa", "Mehdi", "Camille", "Julien", "Zoé"]  # fmt: skip
LAST = ["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND",
        "LEROY", "MOREAU", "SIMON", "LAURENT", "LEFÈVRE", "MICHEL", "GARCIA", "DAVID",
        "BERTRAND", "ROUX", "VINCENT", "FOURNIER", "MOREL", "GIRARD", "ANDRÉ", "MERCIER"]  # fmt: skip
SPECIALTIES = ["Médecine Générale (SM)", "Cardiologie et maladies vasculaires", "Pédiatrie",
               "Radio-diagnostic", "Psychiatrie", "Gynécologie-obstétrique", "Ophtalmologie",
               "Dermatologie et vénéréologie", "Anesthésie-réanimation", "Pneumologie"]  # fmt: skip
PROFESSIONS = ["Médecin", "Infirmier", "Pharmacien", "Masseur-Kinésithérapeute",
               "Chirurgien-Dentiste", "Sage-Femme"]  # fmt: skip
CITIES = [("75011", "PARIS"), ("69003", "LYON"), ("13001", "MARSEILLE"), ("33000", "BORDEAUX"),
          ("31000", "TOULOUSE"), ("59000", "LILLE"), ("44000", "NANTES"), ("67000", "STRASBOURG"),
          ("34000", "MONTPELLIER"), ("35000", "RENNES"), ("06000", "NICE"), ("21000", "DIJON")]  # fmt: skip


def generated(count: int, seed: int = 13) -> Iterator[list[str]]:
    """`count` plausible rows: nine in ten personal mailboxes, the rest organisational."""
    rng = random.Random(seed)  # noqa: S311 - fictitious data, reproducible
    for n in range(count):
        postal, city = rng.choice(CITIES)
        place = {
            "Raison Sociale structure BAL": f"{rng.choice(['Centre hospitalier', 'Clinique', 'Cabinet', 'Maison de santé'])} {rng.choice(LAST).title()} {n % 997}",
            "L6LIGNEACHEMINEMENT structure BAL": f"{postal} {city}",
            "Code postal structure BAL": postal,
            "Département structure BAL": postal[:2],
        }  # fmt: skip
        domain = f"etab{n % 4000}.mssante.fr"
        if n % 10 == 9:
            yield structure_mailbox("ORG", f"service{n}@{domain}", **{"Service de rattachement": f"Service de {rng.choice(SPECIALTIES).split(' ')[0].lower()}"}, **place)  # fmt: skip
            continue
        first, last = rng.choice(FIRST), rng.choice(LAST)
        profession = rng.choice(PROFESSIONS)
        job = {"Libellé Profession": profession, "Libellé savoir-faire": rng.choice(SPECIALTIES) if profession == "Médecin" else ""}  # fmt: skip
        address = f"{first.lower()}.{last.lower()}{n}@{domain}"
        yield person(address, "DR" if profession == "Médecin" else "", first, last, f"8{10000000000 + n}", **job, **place)  # fmt: skip
