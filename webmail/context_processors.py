from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from mailboxes import access
from mailboxes.models import Notification


def navigation(request: HttpRequest) -> dict[str, Callable[[], object]]:
    """Links in the top bar; callables, so nothing is queried unless a page shows them."""
    user = request.user
    return {
        "can_invite": lambda: access.navigation(user)["invites"],
        "manages_mailboxes": lambda: access.navigation(user)["manages"],
        "unread_notifications": lambda: (
            Notification.objects.filter(person=user, read_at__isnull=True).count()
            if user.is_authenticated
            else 0
        ),
    }
