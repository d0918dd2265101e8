"""SMTP submission to the operator."""

from __future__ import annotations

import smtplib
import ssl

from django.conf import settings

from mailboxes.operator import OperatorUnavailable


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
