"""Request types for views (django-stubs): behind login_required, `user` is a person."""

from __future__ import annotations

from django.http import HttpRequest

from mailboxes.models import User


class AuthedRequest(HttpRequest):
    """A request that login_required let through: its user is never anonymous."""

    user: User  # narrower than HttpRequest's User | AnonymousUser
