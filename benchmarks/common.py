"""What the benchmarks share (imported after Django is set up by the benchmark itself)."""

from __future__ import annotations

import time

from django.test import Client

from mailboxes.models import User
from webmail.auth import session


def logged_in(user: User) -> Client:
    """A test client logged in as `user`, its session bound as a Pro Santé Connect login binds
    it (the session middleware would end it otherwise)."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    store = client.session
    store[session.IDENTITY] = {"method": session.PSC, "sub": "bench", "snid": user.subject_name_id}
    store[session.STARTED] = store[session.SEEN] = time.time()
    store.save()
    return client
