from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

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
