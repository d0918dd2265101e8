"""Protocol I/O with the MSSanté operator: IMAP (imap.py) and SMTP (smtp.py)."""

from __future__ import annotations


class OperatorUnavailable(Exception):
    """The operator could not be reached or refused us; the message is safe to show."""
