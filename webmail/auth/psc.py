"""Pro Santé Connect endpoints per environment (REFERENCE.md §4).

PSC is a Keycloak realm, but its discovery document has a non-standard name and its authorize
endpoint lives on the `wallet.*` host, not on the issuer's, so endpoints are spelled out here
rather than discovered.
"""

from __future__ import annotations

from dataclasses import dataclass

REALM_PATH = "/auth/realms/esante-wallet"
DISCOVERY_NAME = "wallet-openid-configuration"


@dataclass(frozen=True)
class PSCEndpoints:
    issuer: str
    authorization: str

    @property
    def discovery(self) -> str:
        return f"{self.issuer}/.well-known/{DISCOVERY_NAME}"

    def _oidc(self, name: str) -> str:
        return f"{self.issuer}/protocol/openid-connect/{name}"

    @property
    def token(self) -> str:
        return self._oidc("token")

    @property
    def userinfo(self) -> str:
        return self._oidc("userinfo")

    @property
    def jwks(self) -> str:
        return self._oidc("certs")

    @property
    def end_session(self) -> str:
        return self._oidc("logout")

    @property
    def introspection(self) -> str:
        return self._oidc("token/introspect")


PRODUCTION = PSCEndpoints(
    issuer=f"https://auth.esw.esante.gouv.fr{REALM_PATH}",
    authorization="https://wallet.esw.esante.gouv.fr/auth",
)
SANDBOX = PSCEndpoints(
    issuer=f"https://auth.bas.psc.esante.gouv.fr{REALM_PATH}",
    authorization="https://wallet.bas.psc.esante.gouv.fr/auth",
)


def local(base_url: str) -> PSCEndpoints:
    """The look-alike of scripts/psc-lookalike: Keycloak's own authorize path on one host."""
    issuer = base_url.rstrip("/") + REALM_PATH
    return PSCEndpoints(issuer=issuer, authorization=f"{issuer}/protocol/openid-connect/auth")


def endpoints_for(environment: str, local_base_url: str) -> PSCEndpoints:
    if environment == "production":
        return PRODUCTION
    if environment == "sandbox":
        return SANDBOX
    return local(local_base_url)
