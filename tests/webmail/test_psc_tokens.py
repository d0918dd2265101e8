"""ID tokens PSC's look-alike would never issue, made here and checked by our backend: exp,
azp with several audiences, a missing or unknown key id (OIDC Core 3.1.3.7)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.http import HttpRequest
from pytest_django import Settings

from webmail.auth.oidc import ProSanteConnectBackend, PSCRefused


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": settings.OIDC_OP_ISSUER,
        "aud": settings.OIDC_RP_CLIENT_ID,
        "sub": "f:test",
        "iat": now,
        "exp": now + 60,
        "nonce": "n-1",
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def backend() -> ProSanteConnectBackend:
    made = ProSanteConnectBackend()
    made.request = HttpRequest()
    return made


def refusal(token: str) -> str:
    with pytest.raises(PSCRefused) as refused:
        backend().verify_token(token, nonce="n-1")
    return refused.value.reason


@pytest.fixture
def hs256(settings: Settings) -> str:
    settings.PSC_SIGN_ALGS = ["HS256"]
    return str(settings.OIDC_RP_CLIENT_SECRET)


def test_it_accepts_a_well_formed_token(hs256: str) -> None:
    token = jwt.encode(claims(), hs256, algorithm="HS256")
    assert backend().verify_token(token, nonce="n-1")["sub"] == "f:test"


def test_it_requires_an_expiry(hs256: str) -> None:
    assert refusal(jwt.encode(claims(exp=None), hs256, algorithm="HS256")) == (
        "jwt:MissingRequiredClaimError"
    )


def test_it_requires_azp_when_the_token_has_several_audiences(hs256: str) -> None:
    audiences = [settings.OIDC_RP_CLIENT_ID, "another-client"]
    assert refusal(jwt.encode(claims(aud=audiences), hs256, algorithm="HS256")) == "azp"
    both = claims(aud=audiences, azp=settings.OIDC_RP_CLIENT_ID)
    assert backend().verify_token(jwt.encode(both, hs256, algorithm="HS256"), nonce="n-1")


def test_it_refuses_a_token_issued_to_another_party(hs256: str) -> None:
    assert refusal(jwt.encode(claims(azp="another-client"), hs256, algorithm="HS256")) == "azp"


def test_it_refuses_hs256_unless_configured() -> None:
    assert "HS256" not in settings.PSC_SIGN_ALGS  # the default
    token = jwt.encode(claims(), str(settings.OIDC_RP_CLIENT_SECRET), algorithm="HS256")
    assert refusal(token) == "algorithm"


@pytest.mark.integration
@pytest.mark.parametrize(("kid", "reason"), [(None, "kid:missing"), ("no-such-key", "kid:unknown")])
def test_it_refuses_a_missing_or_unknown_key_id_cleanly(kid: str | None, reason: str) -> None:
    """Before: the library's SuspiciousOperation escaped the callback (a bare 400, no audit);
    now a PSCRefused the callback records. The look-alike's real JWKS is asked."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = {"kid": kid} if kid else {}
    token = jwt.encode(claims(), key, algorithm="RS256", headers=headers)
    if kid is None:
        assert "kid" not in jwt.get_unverified_header(token)
    assert refusal(token) == reason
