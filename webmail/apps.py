from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class WebmailConfig(AppConfig):
    name = "webmail"
    verbose_name = "Webmail MSSanté"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out
        from django.core import checks

        from mailboxes import signals
        from webmail.checks import mss_nil

        # A deployment check (`check --deploy`): a bare checkout still runs with no
        # environment at all (tests/webmail/test_settings.py).
        checks.register(mss_nil, deploy=True)
        # The domain tells us through its hooks (ARCHITECTURE.md), as it tells the apps.
        signals.delegation_changed.connect(_delegation, dispatch_uid="webmail.delegation")
        user_logged_out.connect(_logged_out, dispatch_uid="webmail.logged_out")


def _delegation(sender: object, **kwargs: Any) -> None:
    """Someone's delegation changed: once committed, their open event streams check their
    right to read again, and end if it is gone (webmail/push.py)."""
    from django.db import transaction

    from mailboxes.mailcache import live

    delegation = kwargs["delegation"]
    mailbox_id, person_id = delegation.mailbox_id, delegation.person_id
    transaction.on_commit(lambda: live.access_changed(mailbox_id, person_id))


def _logged_out(sender: object, **kwargs: Any) -> None:
    """A session ended (logout, or the session policy ending it): its open event streams
    end at once, and their tabs, refused on reconnecting, show the login page."""
    import logging

    from redis.exceptions import RedisError

    from mailboxes import access
    from mailboxes.mailcache import live
    from webmail.auth import session

    request, user = kwargs.get("request"), kwargs.get("user")
    key = request.session.session_key if request is not None else None
    if user is None or not key:
        return
    mailboxes = list(access.mailboxes_for(user).order_by().values_list("pk", flat=True))
    try:
        live.session_ended(mailboxes, session.token(key))
    except RedisError:  # the logout goes on: the streams end at their next heartbeat
        logging.getLogger(__name__).warning("could not tell the event streams of a logout")
