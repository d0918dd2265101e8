"""What an SMTP refusal says, read back from the text the outbox keeps (the server's reply,
`rcpt: 554 5.7.1 text; ...`, as mailboxes.operator.smtp writes it), so the outbox can
explain it in the person's words and know whether trying again can help (RFC 5321 §4.2.1:
5yz is permanent, 4yz transient; RFC 3463 enhanced codes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

REPLY = re.compile(
    r"^(?:(?P<recipient>[^\s:;]+@[^\s:;]+): )?(?P<code>[245]\d\d)"
    r"(?:[ -](?P<enhanced>[245]\.\d{1,3}\.\d{1,3}))?\s*(?P<text>.*)$",
    re.S,
)
TOO_LARGE = "message too large"  # our own PermanentFailure text (mailboxes.operator.smtp)


@dataclass(frozen=True)
class Refusal:
    recipient: str  # "" when the whole message was refused
    code: str  # "554", or "" when the text carries no reply code
    enhanced: str  # "5.7.1", or ""
    text: str  # the server's own words, shown only as a detail

    @property
    def permanent(self) -> bool:
        return self.code.startswith("5") or self.text.startswith(TOO_LARGE)


def parse(error: str) -> list[Refusal]:
    """Each refusal in an outbox error text, in order; one without a code when unparsable."""
    found = []
    for piece in filter(None, (p.strip() for p in error.split("; "))):
        match = REPLY.match(piece)
        if match is None:
            found.append(Refusal("", "", "", piece))
            continue
        found.append(
            Refusal(
                match["recipient"] or "",
                match["code"],
                match["enhanced"] or "",
                match["text"].strip(),
            )
        )
    return found


def permanent(error: str) -> bool:
    """Whether every refusal is for good: trying again the same message cannot work."""
    refusals = parse(error)
    return bool(refusals) and all(r.permanent for r in refusals)
