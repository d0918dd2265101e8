from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = _("Triage")

    def ready(self) -> None:
        # The domain tells us through its hooks; it never imports us (ARCHITECTURE.md).
        from mailboxes import signals

        signals.messages_indexed.connect(_indexed, dispatch_uid="triage.indexed")
        signals.message_queued.connect(_queued, dispatch_uid="triage.queued")
        signals.delegation_changed.connect(_delegation, dispatch_uid="triage.delegation")
        signals.keywords_changed.connect(_keywords, dispatch_uid="triage.keywords")


def _indexed(sender: object, **kwargs: Any) -> None:
    from triage import hooks

    hooks.on_messages_indexed(kwargs["mailbox"], kwargs["folder"], kwargs["messages"])


def _queued(sender: object, **kwargs: Any) -> None:
    from triage import hooks

    hooks.on_message_queued(kwargs["outgoing"], kwargs["message"], kwargs["action"])


def _delegation(sender: object, **kwargs: Any) -> None:
    from triage import hooks

    hooks.on_delegation_changed(kwargs["delegation"], kwargs["actor"], kwargs["request"])


def _keywords(sender: object, **kwargs: Any) -> None:
    from triage import labels

    labels.on_keywords_changed(kwargs["mailbox"], kwargs["folder"], kwargs["keywords"])
