"""SMTP submission to the operator."""

from __future__ import annotations

import smtplib
import ssl
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache

from mailboxes.operator import OperatorUnavailable, strategies

if TYPE_CHECKING:
    from mailboxes.models import Mailbox


def _connect() -> smtplib.SMTP:
    security = settings.OPERATOR_SMTP_SECURITY
    host, port, timeout = (
        settings.OPERATOR_SMTP_HOST,
        settings.OPERATOR_SMTP_PORT,
        settings.OPERATOR_TIMEOUT,
    )
    if security == "tls":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    connection = smtplib.SMTP(host, port, timeout=timeout)
    if security == "starttls":
        connection.starttls(context=ssl.create_default_context())
    return connection


def probe() -> None:
    """Connect and say EHLO; raise OperatorUnavailable if the submission server is not there."""
    try:
        with _connect() as connection:
            code, _ = connection.ehlo()
            if code != 250:
                raise OperatorUnavailable(f"SMTP EHLO answered {code}")
    except (OSError, smtplib.SMTPException) as exc:
        raise OperatorUnavailable(f"SMTP unreachable ({type(exc).__name__})") from exc


class PermanentFailure(Exception):
    """The operator refused the message for good (5xx); the text is the server's reason."""


def _reason(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {text}"[:400]


def submit(
    mailbox: Mailbox,
    envelope_from: str,
    recipients: list[str],
    raw: bytes,
    *,
    dsn: bool,
    envid: str,
) -> dict[str, str]:
    """Hand the message to the operator's submission server.

    Returns the recipients the server refused (the others were accepted). Raises
    PermanentFailure when nothing can be accepted for good (5xx), OperatorUnavailable when
    trying again later may work (4xx, connection lost).
    """
    try:
        with _connect() as connection:
            connection.ehlo()
            strategies.smtp_login(connection, mailbox)
            limit = int(connection.esmtp_features.get("size", "0") or 0)
            if limit and len(raw) > limit:
                raise PermanentFailure(f"message too large ({len(raw)} > {limit} bytes)")
            # RFC 3461: a success and failure report, headers only, tagged with our id.
            with_dsn = dsn and connection.has_extn("dsn")
            mail_options = ["RET=HDRS", f"ENVID={envid}"] if with_dsn else []
            rcpt_options = ["NOTIFY=SUCCESS,FAILURE"] if with_dsn else []
            refused = connection.sendmail(
                envelope_from, recipients, raw, mail_options, rcpt_options
            )
    except smtplib.SMTPRecipientsRefused as exc:
        reasons = {rcpt: _reason(code, text) for rcpt, (code, text) in exc.recipients.items()}
        if any(reason.startswith("4") for reason in reasons.values()):
            raise OperatorUnavailable("; ".join(reasons.values())) from exc
        raise PermanentFailure("; ".join(f"{r}: {t}" for r, t in reasons.items())) from exc
    except smtplib.SMTPResponseException as exc:
        reason = _reason(exc.smtp_code, exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            raise OperatorUnavailable(reason) from exc
        raise PermanentFailure(reason) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise OperatorUnavailable(f"SMTP unreachable ({type(exc).__name__})") from exc
    return {rcpt: _reason(code, text) for rcpt, (code, text) in refused.items()}


def size_limit() -> int | None:
    """The submission server's SIZE (RFC 1870), cached for an hour; None if unknown."""
    cached = cache.get("operator:smtp:size")
    if cached is not None:
        return int(cached) or None
    try:
        with _connect() as connection:
            connection.ehlo()
            limit = int(connection.esmtp_features.get("size", "0") or 0)
    except (OSError, smtplib.SMTPException, ValueError):
        return None
    cache.set("operator:smtp:size", limit, 3600)
    return limit or None
