"""Hostile messages built on demand (too large to keep as fixtures)."""

from __future__ import annotations

import uuid


def nested(levels: int, *, top: str = "multipart/report") -> tuple[bytes, str]:
    """A message `levels` multiparts deep; its raw bytes and its Message-ID."""
    message_id = f"<{uuid.uuid4()}@hopital-c.mssante.test>"
    head = [
        "From: Someone <someone@hopital-c.mssante.test>",
        "To: karim.benali@hopital-c.mssante.test",
        "Subject: Imbrication",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    lines = []
    for level in range(levels):
        kind = top if level == 0 else "multipart/mixed"
        lines += [f'Content-Type: {kind}; boundary="b{level}"', "", f"--b{level}"]
    lines += ["Content-Type: text/plain", "", "Tout au fond."]
    lines += [f"--b{level}--" for level in reversed(range(levels))]
    return "\r\n".join([*head, *lines, ""]).encode(), message_id


def wide(parts: int, *, body: str = "plain") -> tuple[bytes, str]:
    """A message with a short text (`body`: plain or html) and `parts` small attachments;
    its raw bytes and its Message-ID."""
    message_id = f"<{uuid.uuid4()}@hopital-c.mssante.test>"
    lines = [
        "From: Someone <someone@hopital-c.mssante.test>",
        "To: karim.benali@hopital-c.mssante.test",
        "Subject: Beaucoup de pieces",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="wide"',
        "",
        "--wide",
        f"Content-Type: text/{body}; charset=utf-8",
        "",
        "<p>Voir les pieces jointes.</p>" if body == "html" else "Voir les pieces jointes.",
    ]
    for number in range(parts):
        lines += [
            "--wide",
            f'Content-Type: application/pdf; name="piece-{number}.pdf"',
            f'Content-Disposition: attachment; filename="piece-{number}.pdf"',
            "Content-Transfer-Encoding: base64",
            "",
            "JVBERi0xLjQK",
        ]
    lines += ["--wide--", ""]
    return "\r\n".join(lines).encode(), message_id
