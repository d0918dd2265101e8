"""Protocol I/O with the MSSanté operator: IMAP (imap.py) and SMTP (smtp.py)."""

from __future__ import annotations

from mailboxes.errors import FolderMissing, OperatorRefused, OperatorUnavailable

__all__ = ["FolderMissing", "OperatorRefused", "OperatorUnavailable"]
