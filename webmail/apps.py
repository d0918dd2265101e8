from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class WebmailConfig(AppConfig):
    name = "webmail"
    verbose_name = "Webmail MSSanté"

    def ready(self) -> None:
        from django.core import checks

        from mailboxes import signals
        from webmail.checks import mss_nil

        # A deployment check (`check --deploy`): a bare checkout still runs with no
        # environment at all (tests/webmail/test_settings.py).
        checks.register(mss_nil, deploy=True)
        # The domain tells us through its hooks (ARCHITECTURE.md), as it tells the apps.
        signals.delegation_changed.connect(_delegation, dispatch_uid="webmail.delegation")


def _delegation(sender: object, **kwargs: Any) -> None:
    """Someone's delegation changed: once committed, their open event streams check their
    right to read again, and end if it is gone (webmail/push.py)."""
    from django.db import transaction

    from mailboxes.mailcache import live

    delegation = kwargs["delegation"]
    mailbox_id, person_id = delegation.mailbox_id, delegation.person_id
    transaction.on_commit(lambda: live.access_changed(mailbox_id, person_id))
