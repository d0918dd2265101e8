from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from mailboxes import access


def navigation(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """Links in the top bar; callables, so nothing is queried unless a page shows them."""
    return {"can_invite": lambda: access.can_invite(request.user)}
