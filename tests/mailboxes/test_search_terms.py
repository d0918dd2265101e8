from __future__ import annotations

from mailboxes.mailcache import search


def test_words_are_stored_without_case_or_accents() -> None:
    assert search.document("Échographie", "jean.dupont@hopital.fr") == (
        "echographie jean dupont hopital fr"
    )


def test_query_terms_cannot_carry_engine_syntax() -> None:
    assert search.terms('écho* OR "x" & !y:* NEAR(a)') == ["echo", "or", "x", "y", "near", "a"]
    assert search.terms("   ") == []
