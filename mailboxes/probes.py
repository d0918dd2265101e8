"""Is the operator there? What the site's health check asks of it: each probe logs in to one
service and raises when it cannot (views never reach mailboxes.operator themselves)."""

from __future__ import annotations

from collections.abc import Callable

from mailboxes.operator import imap, smtp

OPERATOR: dict[str, Callable[[], None]] = {"imap": imap.probe, "smtp": smtp.probe}
