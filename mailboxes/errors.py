"""What can go wrong with the operator, for every layer to catch (views included, which never
import mailboxes.operator itself)."""

from __future__ import annotations


class OperatorUnavailable(Exception):
    """The operator could not be reached or refused us; the message is safe to show."""


class OperatorRefused(OperatorUnavailable):
    """The operator answered NO/BAD to a command; the message carries its answer. Raised
    only once logged in (a refused login is an OperatorUnavailable)."""


class FolderMissing(OperatorRefused):
    """The folder does not exist at the operator (RFC 5530 NONEXISTENT): a stale link, or a
    folder deleted from another mail client. Not an operator failure."""


class BadRequest(ValueError):
    """What we were asked cannot be done as asked (no such destination, say): nothing was
    sent to the operator."""
