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

from mailboxes.models import User, direct
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

    def get_user(self, user_id: int) -> User | None:
        """The session's person, asked on every request: by SQL of our own (models.direct),
        the ORM's building of `objects.get` costing more than the database's answer."""
        return direct.by_pk(User, user_id)

    def refuse(self, reason: str) -> NoReturn:
        self.request.psc_refusal = reason
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
        self.request.psc_tokens = tokens
        return tokens

    def store_tokens(self, access_token: str, id_token: str) -> None:
        """Nothing here: login() may flush the session, so the callback view stores them."""

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The ID token: signature, iss, aud (and azp), exp, then the nonce."""
        payload = self.decode(token, id_token=True)
        if payload.get("nonce") != kwargs.get("nonce"):
            self.refuse("nonce")
        return payload

    def decode(self, token: str, *, id_token: bool) -> dict[str, Any]:
        """Signature with the key its algorithm calls for, then iss and aud, and exp for an
        ID token (OIDC Core 3.1.3.7; a signed userinfo answer need not carry exp, 5.3.2)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            self.refuse("jwt:malformed")
        algorithm = header.get("alg")
        if algorithm not in settings.PSC_SIGN_ALGS:
            self.refuse("algorithm")
        required = ["iss", "aud", "exp"] if id_token else ["iss", "aud"]
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self.key_for(token, header),
                algorithms=[algorithm],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                options={"require": required},
            )
        except jwt.PyJWTError as exc:
            self.refuse(f"jwt:{type(exc).__name__}")
        self.check_azp(payload)
        return payload

    def check_azp(self, payload: dict[str, Any]) -> None:
        """Several audiences: the token must name us as the party it was issued to; an azp
        that names another client is refused either way (OIDC Core 3.1.3.7, points 4-5)."""
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        azp = payload.get("azp")
        if (len(audiences) > 1 and azp is None) or (
            azp is not None and azp != self.OIDC_RP_CLIENT_ID
        ):
            self.refuse("azp")

    def key_for(self, token: str, header: dict[str, Any]) -> Any:
        if header["alg"].startswith("HS"):
            return self.OIDC_RP_CLIENT_SECRET
        if not header.get("kid"):
            self.refuse("kid:missing")
        try:
            return self.retrieve_matching_jwk(token)
        except SuspiciousOperation:  # no key of PSC's has that kid (and alg)
            self.refuse("kid:unknown")

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        # acr is in the ID token, not in userinfo: check it here where both are at hand.
        if payload.get("acr") != settings.PSC_REQUIRED_ACR:
            self.refuse("acr")
        response = requests.get(
            self.OIDC_OP_USER_ENDPOINT,
            headers={"Authorization": f"Bearer {access_token}"},
            verify=settings.OIDC_VERIFY_SSL,
            timeout=settings.OIDC_TIMEOUT,
        )
        response.raise_for_status()
        signed = response.headers.get("content-type", "").lower().startswith("application/jwt")
        if signed:
            userinfo = self.decode(response.text, id_token=False)
        elif settings.PSC_USERINFO_SIGNED:
            self.refuse("userinfo:unsigned")  # a downgrade: PSC signs it for this client
        else:
            userinfo = response.json()
        if userinfo.get("sub") != payload.get("sub"):
            self.refuse("sub-mismatch")  # OIDC Core 5.3.2: must match the ID token
        if not userinfo.get("SubjectNameID"):
            self.refuse("no-subject-name-id")
        self.request.psc_claims = userinfo
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
        claims = backend.decode(id_token, id_token=True)
        if claims.get("sub") != sub:
            raise PSCRefused("sub-mismatch")
    return tokens
