"""Pro Santé Connect done right, against the real look-alike provider over HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from html import unescape

import pytest
import requests
from django.conf import settings
from django.db import connection
from pytest_django import Settings

from mailboxes.models import AuditEvent, Mailbox, Practice, Structure, User
from tests.conftest import KARIM_SNID, MARIE_SNID
from tests.integration.helpers import (
    forget_provider_session,
    provider_base,
    psc_login,
    session_store,
    synced,
)
from webmail.auth import session as auth_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def psc_fault() -> Iterator[Callable[..., None]]:
    """Makes the look-alike misbehave on purpose for one test."""

    def set_faults(**faults: str) -> None:
        requests.post(f"{provider_base()}/_test/faults", json=faults, timeout=5).raise_for_status()

    yield set_faults
    set_faults()


def refused(page: requests.Response, live_url: str) -> str:
    assert page.url.startswith(f"{live_url}/login/?error=")
    assert not User.objects.exists()
    event = AuditEvent.objects.get(action="login.psc")
    assert event.outcome == "denied"
    return event.response


@pytest.mark.parametrize("variant", ["", "-es256", "-hs256", "-json"])
def test_it_accepts_each_signature_psc_may_use(
    live_url: str, settings: Settings, variant: str
) -> None:
    settings.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID + variant
    if variant == "-hs256":  # only when the client is registered so
        settings.PSC_SIGN_ALGS = [*settings.PSC_SIGN_ALGS, "HS256"]
    if variant == "-json":  # likewise
        settings.PSC_USERINFO_SIGNED = False
    _, page = psc_login(live_url, "marie")
    assert page.status_code == 200 and "Aucune boîte aux lettres" in page.text
    assert User.objects.get().subject_name_id == MARIE_SNID


@pytest.mark.parametrize(
    ("variant", "reason"), [("-hs256", "algorithm"), ("-json", "userinfo:unsigned")]
)
def test_it_refuses_hs256_and_unsigned_userinfo_unless_configured(
    live_url: str, settings: Settings, variant: str, reason: str
) -> None:
    """HS256 would let anyone holding the client secret forge tokens; a JSON userinfo where
    PSC signs it is a downgrade."""
    settings.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID + variant
    _, page = psc_login(live_url, "marie")
    assert refused(page, live_url) == reason


def test_it_refuses_a_tampered_userinfo(live_url: str, psc_fault: Callable[..., None]) -> None:
    psc_fault(userinfo="tamper")
    _, page = psc_login(live_url, "marie")
    assert refused(page, live_url) == "jwt:InvalidSignatureError"
    assert "Pro Santé Connect n'a pas validé votre connexion" in unescape(page.text)


def test_it_refuses_an_id_token_with_another_nonce(
    live_url: str, psc_fault: Callable[..., None]
) -> None:
    psc_fault(nonce="wrong")
    _, page = psc_login(live_url, "marie")
    assert refused(page, live_url) == "nonce"


def test_it_refuses_an_authentication_level_other_than_eidas1(live_url: str) -> None:
    _, page = psc_login(live_url, "marie", acr="eidas0")
    assert refused(page, live_url) == "acr"
    assert "Votre niveau d'authentification est insuffisant" in unescape(page.text)


def test_it_refuses_a_token_signed_with_an_algorithm_we_do_not_accept(
    live_url: str, settings: Settings
) -> None:
    settings.PSC_SIGN_ALGS = ["ES256"]  # the default client signs with RS256
    _, page = psc_login(live_url, "marie")
    assert refused(page, live_url) == "algorithm"


def test_it_records_practices_and_creates_their_structures(live_url: str) -> None:
    psc_login(live_url, "marie")
    psc_login(live_url, "marie")
    practice = Practice.objects.select_related("structure").get()
    assert practice.person.subject_name_id == MARIE_SNID
    assert (practice.profession_code, practice.specialty_code) == ("10", "SM54")
    assert practice.structure.siret == "12345678900017"
    assert practice.structure.name == "Cabinet médical des Tilleuls"
    assert practice.structure.kind == Structure.Kind.PRACTICE
    assert Structure.objects.count() == 1
    assert User.objects.get().email == "marie.durand@operateur-a.mssante.test"


def test_it_leaves_nothing_of_the_previous_person_after_a_card_switch(
    live_url: str, directory: dict[str, Mailbox], demo_mail: None
) -> None:
    synced(*directory.values())
    browser, page = psc_login(live_url, "marie")
    marie_url = page.url
    marie_session = browser.cookies["sessionid"]
    assert "Résultats d&#x27;échographie" in page.text
    # Another professional takes the same browser and logs in with their own card.
    forget_provider_session(browser)
    _, page = psc_login_in(browser, live_url, "karim")
    assert "karim.benali@hopital-c.mssante.test" in page.text
    assert "Résultats d&#x27;échographie" not in page.text
    assert browser.get(marie_url, timeout=5).status_code == 404
    assert browser.cookies["sessionid"] != marie_session
    store = session_store(browser)
    assert store[auth_session.IDENTITY]["snid"] == KARIM_SNID
    # The previous session is gone, not merely hidden.
    stale = requests.Session()
    stale.cookies.set("sessionid", marie_session)
    assert stale.get(marie_url, timeout=5).url.startswith(f"{live_url}/login/")


def psc_login_in(
    browser: requests.Session, live_url: str, who: str
) -> tuple[requests.Session, requests.Response]:
    from tests.integration.helpers import ACCOUNTS

    page = browser.get(f"{live_url}/oidc/authenticate/", timeout=10)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action
    answer = browser.post(
        provider_base() + action.group(1), data={"account": ACCOUNTS[who]}, timeout=10
    )
    return browser, answer


def test_it_ends_a_session_whose_identity_no_longer_matches(live_url: str) -> None:
    browser, _ = psc_login(live_url, "marie")
    store = session_store(browser)
    store[auth_session.IDENTITY] = {**store[auth_session.IDENTITY], "snid": KARIM_SNID}
    store.save()
    page = browser.get(f"{live_url}/", timeout=5)
    assert page.url == f"{live_url}/login/?ended=identity"
    assert AuditEvent.objects.filter(action="session.end", response="identity").exists()


@pytest.mark.parametrize(
    ("key", "age", "reason", "text"),
    [
        (auth_session.SEEN, 31 * 60, "idle", "verrouillée après une période d'inactivité"),
        (auth_session.STARTED, 13 * 3600, "expired", "a atteint sa durée maximale"),
    ],
)
def test_it_locks_an_idle_or_too_old_session(
    live_url: str, key: str, age: int, reason: str, text: str
) -> None:
    browser, _ = psc_login(live_url, "marie")
    store = session_store(browser)
    store[key] = time.time() - age
    store.save()
    page = browser.get(f"{live_url}/", timeout=5)
    assert page.url == f"{live_url}/login/?ended={reason}"
    assert text in unescape(page.text)
    assert browser.get(f"{live_url}/", timeout=5).url.startswith(f"{live_url}/login/")


def test_it_refreshes_psc_tokens_and_ends_the_session_when_psc_refuses(live_url: str) -> None:
    browser, _ = psc_login(live_url, "marie")
    store = session_store(browser)
    first = dict(store[auth_session.TOKENS])
    assert first["refresh"] and first["access"]
    store[auth_session.TOKENS] = {**first, "expires_at": time.time() - 1}
    store.save()
    assert browser.get(f"{live_url}/", timeout=5).status_code == 200
    refreshed = session_store(browser)[auth_session.TOKENS]
    assert refreshed["access"] != first["access"]
    assert refreshed["expires_at"] > time.time() + 60
    # PSC revokes the grant (card reported lost, session ended at PSC...).
    requests.post(
        f"{settings.PSC_ENDPOINTS.issuer}/protocol/openid-connect/revoke",
        data={"token": refreshed["refresh"], "token_type_hint": "refresh_token"},
        auth=(settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET),
        timeout=5,
    ).raise_for_status()
    store = session_store(browser)
    store[auth_session.TOKENS] = {**refreshed, "expires_at": time.time() - 1}
    store.save()
    page = browser.get(f"{live_url}/", timeout=5)
    assert page.url == f"{live_url}/login/?ended=psc-refresh"


@pytest.mark.parametrize("path", ["/logout/", "/oidc/logout/"])
def test_it_logs_out_of_the_webmail_and_of_psc(live_url: str, path: str) -> None:
    """Both logout URLs (the library's is routed to ours): audited, PSC's session ended."""
    browser, page = psc_login(live_url, "marie")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    ended = browser.post(
        f"{live_url}{path}", data={"csrfmiddlewaretoken": token.group(1)}, timeout=5
    )
    assert ended.url.startswith(settings.OIDC_OP_LOGOUT_ENDPOINT)
    form = re.search(r'<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"', ended.text)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', ended.text)
    assert form and xsrf
    back = browser.post(
        provider_base() + form.group(1) if form.group(1).startswith("/") else form.group(1),
        data={"xsrf": xsrf.group(1), "logout": "yes"},
        timeout=5,
    )
    assert back.url.startswith(f"{live_url}/login/?state=")
    assert AuditEvent.objects.filter(action="logout", outcome="ok").exists()
    # Both sessions are over: the site asks to log in, and so does PSC.
    assert browser.get(f"{live_url}/", timeout=5).url.startswith(f"{live_url}/login/")
    again = browser.get(f"{live_url}/oidc/authenticate/", timeout=10)
    assert "Se connecter avec e-CPS" in again.text


def test_it_never_writes_a_token_to_the_database_or_the_logs(
    live_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    browser, _ = psc_login(live_url, "marie")
    store = session_store(browser)
    tokens = dict(store[auth_session.TOKENS])
    store[auth_session.TOKENS] = {**tokens, "expires_at": time.time() - 1}
    store.save()
    browser.get(f"{live_url}/", timeout=5)
    tokens_after = session_store(browser)[auth_session.TOKENS]
    secrets = {tokens["access"], tokens["refresh"], tokens["id"], tokens_after["access"]}
    assert all(len(s) > 20 for s in secrets)
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            dump.extend(str(row) for row in cursor.fetchall())
    everything = "\n".join(dump) + caplog.text
    assert "login.psc" in everything  # the scan does see the audit trail
    for secret in secrets:
        assert secret[:24] not in everything
