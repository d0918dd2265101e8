from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest

from directory import trustlist
from mailboxes import access


def navigation(request: HttpRequest) -> dict[str, Callable[[], object]]:
    """Links in the top bar; callables, so nothing is queried unless a page shows them."""
    user = getattr(request, "user", None)
    if user is None:  # an error page for a request that failed before authentication
        return {}
    flags = functools.cache(lambda: access.navigation(user))  # one cache read a page
    return {
        "can_invite": lambda: flags()["invites"],
        "manages_mailboxes": lambda: flags()["manages"],
        "unread_notifications": lambda: flags()["notifications"],
    }


def trust_list(request: HttpRequest) -> dict[str, Callable[[], object]]:
    """For administrators: a refused, missing or old trust list (CONFORMANCE.md TL3)."""
    user = getattr(request, "user", None)  # an error page may come before authentication
    staff = bool(user is not None and user.is_staff)
    return {"trust_list_health": lambda: trustlist.health() if staff else None}
