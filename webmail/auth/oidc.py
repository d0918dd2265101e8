"""Pro Santé Connect through mozilla-django-oidc: PSC's checks on top of the library's."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db.models import QuerySet
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from mailboxes.models import User
from webmail.auth import people

logger = logging.getLogger(__name__)


class PSCRefused(SuspiciousOperation):
    """A PSC answer we do not accept; `reason` is a short code for the page and the audit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProSanteConnectBackend(OIDCAuthenticationBackend):
    """People keyed by SubjectNameID (never `sub`); acr must be the configured level.

    Claims and tokens are left on the request (`psc_claims`, `psc_tokens`) for the callback
    view to bind to the session after login; a refusal leaves `psc_refusal`.
    """

    def refuse(self, reason: str) -> NoReturn:
        self.request.psc_refusal = reason  # type: ignore[attr-defined]
        raise PSCRefused(reason)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        try:
            return super().authenticate(request, **kwargs)  # type: ignore[no-any-return]
        except PSCRefused:
            return None
        except requests.RequestException as exc:
            logger.warning("Pro Santé Connect unreachable or refusing: %s", type(exc).__name__)
            if request is not None:
                request.psc_refusal = "provider"  # type: ignore[attr-defined]
            return None

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        tokens: dict[str, Any] = super().get_token(payload)
        self.request.psc_tokens = tokens  # type: ignore[attr-defined]
        return tokens

    def store_tokens(self, access_token: str, id_token: str) -> None:
        """Nothing here: login() may flush the session, so the callback view stores them."""

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """Signature with the key its algorithm calls for, then iss, aud, exp and nonce."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            self.refuse("jwt:malformed")
        if algorithm not in settings.PSC_SIGN_ALGS:
            self.refuse("algorithm")
        payload = self._verify_jws(token, self.key_for(token, algorithm))
        if payload.get("nonce") != kwargs.get("nonce"):
            self.refuse("nonce")
        return payload

    def key_for(self, token: str, algorithm: str) -> Any:
        if algorithm.startswith("HS"):
            return self.OIDC_RP_CLIENT_SECRET
        return self.retrieve_matching_jwk(token)

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        # The library skips `aud` and never checks `iss` (STACK-NOTES §3): both apply to the
        # ID token and to a signed userinfo answer (OIDC Core 5.3.2).
        algorithm = jwt.get_unverified_header(payload).get("alg")
        try:
            return jwt.decode(  # type: ignore[no-any-return]
                payload,
                key,
                algorithms=[algorithm],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                options={"require": ["iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            self.refuse(f"jwt:{type(exc).__name__}")

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        # acr is in the ID token, not in userinfo: check it here where both are at hand.
        if payload.get("acr") != settings.PSC_REQUIRED_ACR:
            self.refuse("acr")
        userinfo: dict[str, Any] = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            self.refuse("sub-mismatch")  # OIDC Core 5.3.2: must match the ID token
        if not userinfo.get("SubjectNameID"):
            self.refuse("no-subject-name-id")
        self.request.psc_claims = userinfo  # type: ignore[attr-defined]
        return {**userinfo, "acr": payload["acr"]}

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("SubjectNameID")) and bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        return User.objects.filter(subject_name_id=claims["SubjectNameID"])

    def create_user(self, claims: dict[str, Any]) -> User:
        snid = claims["SubjectNameID"]
        user = User(username=f"psc-{snid}", subject_name_id=snid)
        user.set_unusable_password()
        return self.update_user(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        return people.update_from_psc(user, claims)


def refresh(refresh_token: str, sub: str) -> dict[str, Any]:
    """New tokens from PSC's token endpoint; PSCRefused if PSC says no or answers another sub."""
    backend = ProSanteConnectBackend()
    backend.request = HttpRequest()
    try:
        response = requests.post(
            settings.OIDC_OP_TOKEN_ENDPOINT,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET),
            timeout=settings.OIDC_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise PSCRefused("provider") from exc
    if response.status_code != 200:
        raise PSCRefused(f"refresh:{response.status_code}")
    tokens: dict[str, Any] = response.json()
    if id_token := tokens.get("id_token"):
        algorithm = jwt.get_unverified_header(id_token).get("alg")
        if algorithm not in settings.PSC_SIGN_ALGS:
            raise PSCRefused("algorithm")
        claims = backend._verify_jws(id_token, backend.key_for(id_token, algorithm))
        if claims.get("sub") != sub:
            raise PSCRefused("sub-mismatch")
    return tokens
