"""The one module of address, date and message-id rules, held to the email package's own parser.

The differential test reads a corpus of odd headers (what real MSSanté mail, Outlook, old
clients and hostile senders write) with our reader and with the email package's modern header
parser (policy.default's header registry): wherever that parser reads a header at all, both
must give the same (name, address) pairs; where it raises (it does, on "a@"), ours must not.
One departure, on purpose: text labelled ISO-8859-1 is read as Windows-1252, as browsers do
(mailboxes.mail.charsets), where the email package gives C1 control characters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.policy import default as default_policy

import pytest
from django.utils import timezone as django_timezone

from mailboxes.mail import headers

CORPUS = [
    # plain forms (the fast path)
    "a@b.fr",
    "Jean Dupont <jean@b.fr>",
    "jean@b.fr, marie@c.fr",
    "<jean@b.fr>",
    "  Jean   Dupont   <jean@b.fr>  ",
    "Jean\t<jean@b.fr>",
    "Jean Dupont <jean@b.fr>,",
    ",,a@b.fr,,",
    "J. Dupont <j@b.fr>",
    "Dr. Jean-Luc O'Neil <jl@b.fr>",
    "Jean Dupont <JEAN@B.FR>",
    "CHU de Lyon - Cardiologie <cardio@chu-lyon.mssante.fr>",
    "secretariat.cabinet@medecin.mssante.fr",
    "Pharmacie du Centre <pharmacie@pharmacien.mssante.fr>",
    "Jérôme <jerome@hôpital.fr>",  # RFC 6532: raw UTF-8
    "123456789012345@patient.mssante.fr",
    # encoded words (RFC 2047)
    "=?utf-8?q?J=C3=A9r=C3=B4me_Dupont?= <jerome@b.fr>",
    "=?iso-8859-1?q?Ren=E9?= <rene@b.fr>",
    "=?UTF-8?B?w4lsb2RpZSBNYXJ0aW4=?= <elodie@b.fr>",
    "=?utf-8?q?Dupont=2C_Jean?= <jean@b.fr>",  # a comma once decoded
    "=?utf-8?b?5bGx55Sw?= <yamada@b.jp>",
    "=?bogus?q?x?= <x@b.fr>",  # unknown charset
    "=?utf-8?q?unterminated <x@b.fr>",
    "=?utf-8?q?Anne?= =?utf-8?q?_Marie?= <am@b.fr>",  # adjacent words join
    "Jérôme =?utf-8?q?Dupont?= <jd@b.fr>",  # raw UTF-8 beside an encoded word
    # quoting, comments, groups, routes (the email package's parser)
    '"Dupont, Jean" <jean@b.fr>',
    '"Jean \\"JD\\" Dupont" <jean@b.fr>',
    '"" <empty@b.fr>',
    '"a b"@c.fr',
    "jean@b.fr (Jean Dupont)",
    "Jean <jean@b.fr> (bureau)",
    'Jean Dupont <jean@b.fr>, "Martin, Marie" <marie@c.fr>, paul@d.fr',
    "undisclosed-recipients:;",
    "Équipe: a@b.fr, c@d.fr;",
    "Jean <@route:jean@b.fr>",
    "jean@[192.168.0.1]",
    "Name <a@b.fr>; other@c.fr",
    "a@b.fr; c@d.fr",
    # not addresses, or broken
    "plainword",
    "",
    "   ",
    "Jean <jean@b.fr",
    "Jean jean@b.fr",
    "@b.fr",
    "a@",
    "<>",
    "a@b@c.fr",
    "Jean <jean@b.fr>\r\nBcc: smuggled@evil.example",
]


def reference(value: str) -> list[tuple[str, str]] | None:
    """The email package's reading, or None where it raises."""
    try:
        header = default_policy.header_factory("To", value)
    except (IndexError, ValueError):
        return None
    return [
        (" ".join(a.display_name.split()), a.addr_spec)
        for a in header.addresses
        if "@" in a.addr_spec and not a.addr_spec.startswith("@")
    ]


@pytest.mark.parametrize("value", CORPUS)
def test_it_reads_addresses_as_the_email_package_does(value: str) -> None:
    expected = reference(value)
    ours = headers.addresses([value])
    if expected is None:  # the email package itself gives up: we never do
        assert all(address.count("@") >= 1 for _, address in ours)
    else:
        assert ours == expected


def test_the_reference_parser_really_gives_up_on_some_headers() -> None:
    assert reference("a@") is None  # else the branch above would be dead
    assert headers.addresses(["a@"]) == []


@pytest.mark.parametrize("value", [v for v in CORPUS if headers.addresses([v])])
def test_what_it_shows_parses_back_to_the_same_addresses(value: str) -> None:
    """A reply-all's Cc is the shown text: typed back, it must name the same people."""
    shown = ", ".join(headers.people([value]))
    # Names are never re-encoded (issue 15, defect 2); only text that was never a valid
    # encoded word ("=?utf-8?q?unterminated") stays as the sender wrote it.
    assert "=?" not in shown or "=?" in headers.decoded(value)
    assert headers.addresses([shown]) == headers.addresses([value])
    plain = [a for _, a in headers.addresses([value]) if " " not in a]
    if len(plain) == len(headers.addresses([value])):
        assert headers.recipients(shown) == [a.lower() for a in plain]


SUBJECTS = [
    "Résultats d'échographie",
    "=?utf-8?q?R=C3=A9sultats?= d'échographie",  # raw UTF-8 beside an encoded word
    "Compte rendu =?iso-8859-1?q?d=27=E9chographie?= du 01/12",
    "=?utf-8?b?W1NFQ1JFVF0gQmlsYW4=?=",
    "=?utf-8?q?Anne?= =?utf-8?q?_Marie?=",
    "Re: Tr: =?UTF-8?Q?XDM/1.0/DDM+Compte_rendu?=",
    "=?utf-8?q?unterminated",
    "plain ascii",
]


@pytest.mark.parametrize("value", SUBJECTS)
def test_it_decodes_subjects_as_the_email_package_does(value: str) -> None:
    assert headers.decoded(value) == str(default_policy.header_factory("Subject", value))


def test_iso_8859_1_is_read_as_windows_1252() -> None:
    value = "=?iso-8859-1?q?C=9Cur_=96_r=E9sultats?="
    assert headers.decoded(value) == "Cœur – résultats"
    assert str(default_policy.header_factory("Subject", value)) == "C\x9cur \x96 résultats"


def test_it_shows_accented_and_comma_names_readably() -> None:
    assert headers.people(["=?utf-8?q?Dupont=2C_J=C3=A9r=C3=B4me?= <j@b.fr>, e@c.fr"]) == [
        '"Dupont, Jérôme" <j@b.fr>',
        "e@c.fr",
    ]


def test_the_first_address_is_lower_cased_and_empty_when_there_is_none() -> None:
    assert headers.first_address('"Secrétariat" <Secretariat@B.FR>, x@y.fr') == "secretariat@b.fr"
    assert headers.first_address("undisclosed-recipients:;") == ""
    assert headers.first_address("") == ""


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("a@b.fr", ["a@b.fr"]),
        ('"Dupont, Jean" <Jean@B.fr>, marie@c.fr', ["jean@b.fr", "marie@c.fr"]),
        ("Élodie <e@b.fr>", ["e@b.fr"]),
    ],
)
def test_it_takes_what_the_person_typed(typed: str, expected: list[str]) -> None:
    assert headers.recipients(typed) == expected


@pytest.mark.parametrize("typed", ["jean", "a@b@c.fr", "@b.fr", "Jean Dupont <jean dupont@b.fr>"])
def test_it_names_what_is_no_address(typed: str) -> None:
    with pytest.raises(ValueError) as refused:
        headers.recipients(typed)
    assert str(refused.value)  # the form quotes it back: "Not an e-mail address: …"


def test_a_draft_keeps_what_parses() -> None:
    assert headers.lenient_recipients("jean, a@b.fr, x@") == ["a@b.fr"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 01 Dec 2026 08:27:00 +0000", datetime(2026, 12, 1, 8, 27, tzinfo=UTC)),
        (
            "1 Dec 2026 09:27:00 +0100",
            datetime(2026, 12, 1, 9, 27, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("Tue, 01 Dec 2026 08:27:00 GMT", datetime(2026, 12, 1, 8, 27, tzinfo=UTC)),
        ("Tue, 01 Dec 2026 08:27:00 -0000", None),  # zone unknown (RFC 5322 3.3)
        ("Tue, 01 Dec 2026 08:27:00", None),
        ("yesterday", None),
        ("", None),
        ("Tue, 32 Dec 2026 08:27:00 +0000", None),
    ],
)
def test_it_reads_dates_as_the_email_package_does(value: str, expected: datetime | None) -> None:
    assert headers.parse_date(value) == expected
    if expected is not None:
        assert default_policy.header_factory("Date", value).datetime == expected


def test_a_quoted_date_is_in_the_persons_time_zone() -> None:
    """Issue 15, defect 11: "Le 01/12/2026 09:27" in Paris for a message sent at 08:27 UTC."""
    with django_timezone.override("Europe/Paris"):
        assert headers.quoted_date(datetime(2026, 12, 1, 8, 27, tzinfo=UTC)) == "01/12/2026 09:27"
        assert headers.quoted_date(datetime(2026, 7, 1, 8, 27, tzinfo=UTC)) == "01/07/2026 10:27"
    assert headers.quoted_date(None) == ""


def test_message_ids_strict_for_what_we_write_lenient_for_threading() -> None:
    value = "<a@b> junk <c d@e> <obs.id> \r\nBcc: x@y <f@g>"
    assert headers.message_ids(value) == ["<a@b>", "<f@g>"]
    assert headers.message_ids(value, strict=False) == ["<a@b>", "<obs.id>", "<f@g>"]


def test_headers_we_write_stay_on_one_line() -> None:
    assert headers.one_line("Résultats\r\nBcc: x@y\u2028fin") == "Résultats Bcc: x@y fin"
    assert "\n" not in headers.for_header("Dr Jean\r\nBcc: x@y", "jean@b.fr")
    assert headers.new_message_id("cabinet@medecin.mssante.fr").endswith("@medecin.mssante.fr>")


def test_patient_addresses_are_masked() -> None:
    assert (
        headers.redacted("550 5.1.1 <123456789012345@patient.mssante.fr>: refusé")
        == "550 5.1.1 <***@patient.mssante.fr>: refusé"
    )
