"""The trust-space check on recipients (TL5, TL6), registered into mailboxes.recipients."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.utils.translation import gettext as _

from directory.trustlist import decide
from mailboxes.recipients import Outside


def trust_space(addresses: Sequence[str]) -> list[Outside]:
    """The recipients outside the trust space. Blocking in block mode (the default), and
    always when no list was ever loaded (TL5); in warn mode the person may confirm."""
    found = []
    for address in addresses:
        decision = decide(address)
        if decision.trusted:
            continue
        if decision.unavailable:
            reason = _("MSSanté trust list unavailable: %(address)s cannot be checked") % {
                "address": address
            }
        else:
            reason = _("Address outside the MSSanté trust space: %(address)s") % {
                "address": address
            }
        blocking = decision.unavailable or settings.TRUSTLIST_MODE == "block"
        found.append(Outside(address, decision.domain, reason, blocking))
    return found
