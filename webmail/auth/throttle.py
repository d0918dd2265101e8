"""Throttling of both login doors, in the cache (Redis), shared by every web process.

Two counters, both of failures only:
- per account name and client address: after WEBMAIL_LOGIN_MAX_FAILURES wrong passwords or
  codes, that name is refused *from that address* for WEBMAIL_LOGIN_LOCK_MINUTES. Someone
  elsewhere guessing a colleague's address cannot lock the colleague out; a success clears it.
  Counted for names that have no account too, so the answers tell nobody which accounts exist.
- per client address, across names and doors (passwords, codes, Pro Santé Connect refusals):
  past WEBMAIL_LOGIN_MAX_FAILURES_PER_ADDRESS in the window, the address is refused every
  login for the rest of the window: a spray over many names gets nowhere.

django-ratelimit counts fixed windows with no reset on success, which a lock-out needs; the
few lines here do both with the cache's atomic add/incr.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from mailboxes.audit import client_ip


def _window() -> int:
    return settings.WEBMAIL_LOGIN_LOCK_MINUTES * 60


def _key(kind: str, *parts: str) -> str:
    # Hashed: the cache holds no e-mail address in clear.
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"webmail:login-failures:{kind}:{digest}"


def _account_key(request: HttpRequest, name: str) -> str:
    return _key("account", name.strip().lower(), client_ip(request) or "")


def _address_key(request: HttpRequest) -> str:
    return _key("address", client_ip(request) or "")


def _count(key: str) -> int:
    return int(cache.get(key) or 0)


def address_blocked(request: HttpRequest) -> bool:
    return _count(_address_key(request)) >= settings.WEBMAIL_LOGIN_MAX_FAILURES_PER_ADDRESS


def name_locked(request: HttpRequest, name: str) -> bool:
    """Whether this name is locked from this address (or the address is blocked)."""
    return address_blocked(request) or (
        _count(_account_key(request, name)) >= settings.WEBMAIL_LOGIN_MAX_FAILURES
    )


def _increment(key: str) -> int:
    if cache.add(key, 1, timeout=_window()):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=_window())
        return 1


def count_failure(request: HttpRequest, name: str | None) -> bool:
    """Count a failure at a door (name None: a door without one, PSC). True if now locked."""
    _increment(_address_key(request))
    if name is not None:
        _increment(_account_key(request, name))
        return name_locked(request, name)
    return address_blocked(request)


def clear(request: HttpRequest, name: str) -> None:
    """A successful login: this name's failures from this address are forgotten."""
    cache.delete(_account_key(request, name))
