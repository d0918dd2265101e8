from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from mailboxes import access


def navigation(request: HttpRequest) -> dict[str, Callable[[], object]]:
    """Links in the top bar; callables, so nothing is queried unless a page shows them."""
    user = request.user
    return {
        "can_invite": lambda: access.navigation(user)["invites"],
        "manages_mailboxes": lambda: access.navigation(user)["manages"],
        "unread_notifications": lambda: access.navigation(user)["notifications"],
    }
