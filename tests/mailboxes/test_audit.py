from __future__ import annotations

import pytest

from mailboxes import audit


@pytest.mark.django_db
def test_it_never_stores_a_patients_address() -> None:
    event = audit.record(
        None,
        "message.send",
        target="<1234@operateur-a.mssante.test>",
        outcome="error",
        response="554 5.7.1 <2750512345678@patient.mssante.fr>: refused; "
        "dr@hopital-c.mssante.test: ok",
    )
    event.refresh_from_db()
    assert "2750512345678" not in event.response
    assert "***@patient.mssante.fr" in event.response
    assert "dr@hopital-c.mssante.test" in event.response  # professionals stay traceable
