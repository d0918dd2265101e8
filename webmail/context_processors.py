from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from directory import trustlist
from mailboxes import access


def navigation(request: HttpRequest) -> dict[str, Callable[[], object]]:
    """Links in the top bar; callables, so nothing is queried unless a page shows them."""
    user = getattr(request, "user", None)
    if user is None:  # an error page for a request that failed before authentication
        return {}
    return {
        "can_invite": lambda: access.navigation(user)["invites"],
        "manages_mailboxes": lambda: access.navigation(user)["manages"],
        "unread_notifications": lambda: access.navigation(user)["notifications"],
    }


def trust_list(request: HttpRequest) -> dict[str, Callable[[], object]]:
    """For administrators: a refused, missing or old trust list (CONFORMANCE.md TL3)."""
    user = getattr(request, "user", None)  # an error page may come before authentication
    staff = bool(user is not None and user.is_staff)
    return {"trust_list_health": lambda: trustlist.health() if staff else None}
