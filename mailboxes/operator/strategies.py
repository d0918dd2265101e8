"""How the webmail authenticates to the operator for a mailbox: one interface, three ways.

- master: the operator trusts this webmail (Dovecot master user, SASL PLAIN with the
  mailbox as authorization identity); our delegations decide. Needed for background work.
- xoauth2: the person's Pro Santé Connect access token (MSSanté CONF.07); the operator
  decides who may open which mailbox. Only within a person's request: tasks have no token.
- credential: the mailbox's own password, stored encrypted.
"""

from __future__ import annotations

import base64
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.conf import settings

from mailboxes.models import Mailbox, MailboxCredential
from mailboxes.operator import OperatorUnavailable
from mailboxes.operator.credentials import decrypt

if TYPE_CHECKING:
    import smtplib

    from imapclient import IMAPClient

# The PSC access token of the person this request acts for (set by the session middleware).
psc_access_token: ContextVar[str | None] = ContextVar("psc_access_token", default=None)


def strategy_of(mailbox: Mailbox) -> str:
    return mailbox.access or settings.OPERATOR_ACCESS_STRATEGY


def _token() -> str:
    token = psc_access_token.get()
    if not token:
        raise OperatorUnavailable("this mailbox needs a Pro Santé Connect login (XOAUTH2)")
    return token


def _credential(mailbox: Mailbox) -> tuple[str, str]:
    credential = MailboxCredential.objects.filter(mailbox=mailbox).first()
    if credential is None:
        raise OperatorUnavailable("no stored password for this mailbox")
    return credential.login or mailbox.address, decrypt(credential.secret)


def imap_login(client: IMAPClient, mailbox: Mailbox) -> None:
    strategy = strategy_of(mailbox)
    if strategy == Mailbox.Access.XOAUTH2:
        client.oauth2_login(mailbox.address, _token())
    elif strategy == Mailbox.Access.CREDENTIAL:
        client.login(*_credential(mailbox))
    else:
        client.plain_login(
            settings.OPERATOR_MASTER_USER,
            settings.OPERATOR_MASTER_PASSWORD,
            authorization_identity=mailbox.address,
        )


def smtp_login(connection: smtplib.SMTP, mailbox: Mailbox) -> None:
    strategy = strategy_of(mailbox)
    if strategy == Mailbox.Access.XOAUTH2:
        raw = f"user={mailbox.address}\x01auth=Bearer {_token()}\x01\x01"
        connection.auth("XOAUTH2", lambda challenge=None: raw)
    elif strategy == Mailbox.Access.CREDENTIAL:
        connection.login(*_credential(mailbox))
    else:
        plain = "\0".join(
            (mailbox.address, settings.OPERATOR_MASTER_USER, settings.OPERATOR_MASTER_PASSWORD)
        )
        code, answer = connection.docmd(
            "AUTH", "PLAIN " + base64.b64encode(plain.encode()).decode()
        )
        if code != 235:
            reason = answer.decode("ascii", errors="replace")
            raise OperatorUnavailable(f"SMTP login refused: {code} {reason}")
