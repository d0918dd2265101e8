"""Checks on recipients before a message is queued and again before it is submitted.

The domain knows nothing of the trust list (directory/, TL5–TL6): a feature app registers
its check here from its AppConfig.ready(). With no check registered, every recipient passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Outside:
    """A recipient a check would not send to."""

    address: str
    domain: str
    reason: str  # for the person, in their language
    blocking: bool  # True: never sent; False: sent once the person has confirmed


Check = Callable[[Sequence[str]], list[Outside]]
_checks: list[Check] = []


class OutsideRecipients(Exception):
    """Some recipients may not (or not without confirmation) be written to."""

    def __init__(self, outside: list[Outside]) -> None:
        super().__init__(", ".join(o.domain for o in outside))
        self.outside = outside

    @property
    def blocking(self) -> bool:
        return any(o.blocking for o in self.outside)


def register(check: Check) -> None:
    """Called once per check, from an AppConfig.ready()."""
    if check not in _checks:
        _checks.append(check)


def outside(addresses: Sequence[str]) -> list[Outside]:
    """The recipients some registered check refuses or warns about."""
    return [found for check in _checks for found in check(addresses)]
