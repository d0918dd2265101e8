"""Pro Santé Connect through mozilla-django-oidc: PSC's checks on top of the library's."""

from __future__ import annotations

import logging
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db.models import QuerySet
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from mailboxes.models import User

logger = logging.getLogger(__name__)


class PSCRefused(SuspiciousOperation):
    """A PSC answer we do not accept; `reason` is a short code for the page and the audit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProSanteConnectBackend(OIDCAuthenticationBackend):
    """People keyed by SubjectNameID (never `sub`); acr must be the configured level."""

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        # The library skips `aud` and never checks `iss` (STACK-NOTES §3): both apply to the
        # ID token and to a signed userinfo answer (OIDC Core 5.3.2).
        algorithm = jwt.get_unverified_header(payload).get("alg")
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise PSCRefused("algorithm")
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
            raise PSCRefused(f"jwt:{type(exc).__name__}") from exc

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        # acr is in the ID token, not in userinfo: check it here where both are at hand.
        if payload.get("acr") != settings.PSC_REQUIRED_ACR:
            raise PSCRefused("acr")
        userinfo: dict[str, Any] = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise PSCRefused("sub-mismatch")  # OIDC Core 5.3.2: must match the ID token
        return {**userinfo, "acr": payload["acr"]}

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("SubjectNameID")) and bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        return User.objects.filter(subject_name_id=claims["SubjectNameID"])

    def create_user(self, claims: dict[str, Any]) -> User:
        user = User(
            username=f"psc-{claims['SubjectNameID']}", subject_name_id=claims["SubjectNameID"]
        )
        user.set_unusable_password()
        return self.update_user(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        user.first_name = str(claims.get("given_name", ""))[:150]
        user.last_name = str(claims.get("family_name", ""))[:150]
        user.save()
        return user
