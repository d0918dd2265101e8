"""Deployment checks (`manage.py check --deploy`) of settings production must set."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error


def mss_nil(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """XDM-S6: X-MSS-NIL goes on every message; an empty value is refused unless DEBUG."""
    if settings.WEBMAIL_MSS_NIL or settings.DEBUG:
        return []
    return [
        Error(
            "WEBMAIL_MSS_NIL is empty: every message sent must carry X-MSS-NIL (CONF.16).",
            hint="Set WEBMAIL_MSS_NIL to the product's Convergence reference.",
            id="webmail.E001",
        )
    ]
