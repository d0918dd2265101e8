"""What a logged-in session holds about its identity, and when it must end.

The session is bound at login to how the person proved who they are: Pro Santé Connect
(`sub` and `SubjectNameID`, plus PSC's tokens, which live here and nowhere else: MSSanté
CONF.28) or a password with a one-time code. Every request re-checks the binding, the idle
and absolute limits and, for PSC, that PSC still accepts the session (CONF.10/11).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

IDENTITY = "auth_identity"
TOKENS = "psc_tokens"
STARTED = "auth_started"
SEEN = "auth_seen"
PSC = "psc"
PASSWORD = "password"  # noqa: S105 - the name of a login method, not a secret
REFRESH_MARGIN = 15  # seconds before the access token's expiry
SEEN_RESOLUTION = 30  # seconds: do not rewrite the session on every request
BACKGROUND = "webmail_background"

View = TypeVar("View", bound=Callable[..., Any])


def background(view: View) -> View:
    """Mark a view the page calls on its own (the list's change poll): it is checked like any
    request, an idle session ends there too, but it is not the person's activity, so it never
    holds the idle lock off (SC.SSI/IE.58: locked after inactivity). Put it above
    `login_required`."""
    setattr(view, BACKGROUND, True)
    return view


def begin(
    request: HttpRequest,
    method: str,
    *,
    sub: str = "",
    snid: str = "",
    tokens: dict[str, Any] | None = None,
) -> None:
    """Bind the (just logged-in) session to an identity. Call after django's login()."""
    now = time.time()
    request.session[IDENTITY] = {"method": method, "sub": sub, "snid": snid}
    request.session[STARTED] = now
    request.session[SEEN] = now
    if tokens:
        request.session[TOKENS] = token_record(tokens, now, {})


def token_record(tokens: dict[str, Any], now: float, previous: dict[str, Any]) -> dict[str, Any]:
    return {
        "access": tokens.get("access_token", ""),
        "refresh": tokens.get("refresh_token") or previous.get("refresh", ""),
        "id": tokens.get("id_token") or previous.get("id", ""),
        "expires_at": now + int(tokens.get("expires_in", 120)),
    }


def problem(request: HttpRequest, *, activity: bool = True) -> str | None:
    """Why this authenticated session must end now, or None. Only an `activity` (a request
    the person made, not a background poll) moves the idle clock."""
    identity = request.session.get(IDENTITY)
    if not identity:
        return "unbound"
    user = request.user
    if identity["method"] == PSC:
        if not identity["snid"] or identity["snid"] != user.subject_name_id:  # type: ignore[union-attr]
            return "identity"
    elif not user.is_verified():  # type: ignore[union-attr]
        return "second-factor"
    now = time.time()
    if now - request.session.get(SEEN, 0) > settings.WEBMAIL_IDLE_TIMEOUT:
        return "idle"
    if now - request.session.get(STARTED, 0) > settings.WEBMAIL_SESSION_MAX_AGE:
        return "expired"
    if identity["method"] == PSC and not refresh_if_due(request, identity["sub"]):
        return "psc-refresh"
    if activity and now - request.session[SEEN] > SEEN_RESOLUTION:
        request.session[SEEN] = now
    return None


def next_check(data: SessionBase | Mapping[str, Any]) -> float:
    """When (a time.time()) this session must go through `problem()` again: a request that
    lasts (the list's event stream, which reads its session again at every heartbeat) ends
    by then, and the browser's reconnection is checked like any request. The idle and
    absolute limits, and PSC's access token falling due (its refresh is where PSC says
    whether it still accepts the session)."""
    limits = [
        float(data.get(SEEN, 0)) + settings.WEBMAIL_IDLE_TIMEOUT,
        float(data.get(STARTED, 0)) + settings.WEBMAIL_SESSION_MAX_AGE,
    ]
    tokens = data.get(TOKENS)
    if tokens and tokens.get("refresh"):
        limits.append(float(tokens["expires_at"]) - REFRESH_MARGIN)
    return min(limits)


def token(session_key: str) -> str:
    """A session's name where others may see it (a Redis channel's notices): not its key."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:24]


def refresh_if_due(request: HttpRequest, sub: str) -> bool:
    """Refresh PSC's tokens when the access token is about to expire; False if PSC refuses."""
    from webmail.auth.oidc import PSCRefused, refresh

    tokens = request.session.get(TOKENS)
    if not tokens or not tokens.get("refresh"):
        return True
    now = time.time()
    if now < tokens["expires_at"] - REFRESH_MARGIN:
        return True
    # Two requests of one session must not both spend the same refresh token.
    lock = f"psc-refresh:{request.session.session_key}"
    if not cache.add(lock, 1, timeout=15):
        return True
    try:
        fresh = refresh(tokens["refresh"], sub)
    except PSCRefused as exc:
        logger.info("PSC refused the refresh: %s", exc.reason)
        return False
    finally:
        cache.delete(lock)
    request.session[TOKENS] = token_record(fresh, now, tokens)
    return True
