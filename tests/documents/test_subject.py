"""XDM-R12 subject display matrix (CONFORMANCE.md TST 5)."""

from __future__ import annotations

import pytest

from documents.subject import display
from webmail.templatetags.mail import display_subject

CASES = [
    ("XDM/1.0/DDM+CR d'imagerie LEGRAND Camille", "CR d'imagerie LEGRAND Camille"),
    ("Re: XDM/1.0/DDM+CR biologie", "Re: CR biologie"),
    ("Tr: XDM/1.0/DDM+CR biologie", "Tr: CR biologie"),
    ("RE : XDM/1.0/DDM+CR biologie", "RE : CR biologie"),
    ("re:Fwd: XDM/1.0/DDM+ CR", "re:Fwd: CR"),
    ("[KO Intégration système !][902] XDM/1.0/DDM+CR", "[KO Intégration système !][902] CR"),
    ("Re: [KO][902] xdm/1.0/ddm+CR", "Re: [KO][902] CR"),
    ("Voir XDM/1.0/DDM+CR dans le texte", "Voir XDM/1.0/DDM+CR dans le texte"),
    ("Bonjour", "Bonjour"),
    ("", ""),
]


@pytest.mark.parametrize(("subject", "shown"), CASES)
def test_it_hides_the_xdm_prefix_after_reply_markers_and_tags(subject: str, shown: str) -> None:
    assert display(subject) == shown
    assert display_subject(subject) == shown
