"""How the webmail authenticates to the operator for a mailbox: one interface, three classes.

- MasterUser: the operator trusts this webmail (Dovecot master user, SASL PLAIN with the
  mailbox as authorization identity); our delegations decide. Works for background work.
- PersonToken (XOAUTH2): the person's Pro Santé Connect access token (MSSanté CONF.07); the
  operator decides who may open which mailbox. Only while the person is there: the token is
  never kept beyond its life (CONF.28), so no worker has one.
- StoredCredential: the mailbox's own password, stored encrypted.

Every caller asks the mailbox's strategy what it can do (`background`, `poolable`) instead of
comparing names.
"""

from __future__ import annotations

import base64
from contextvars import ContextVar
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db.models import Q, QuerySet

from mailboxes.models import Mailbox, MailboxCredential
from mailboxes.operator import OperatorUnavailable
from mailboxes.operator.credentials import decrypt

if TYPE_CHECKING:
    import smtplib

    from imapclient import IMAPClient

# The PSC access token of the person this request acts for (set by the session middleware).
psc_access_token: ContextVar[str | None] = ContextVar("psc_access_token", default=None)


class AccessStrategy:
    """One way of logging in to the operator for a mailbox."""

    name: ClassVar[str]
    background: ClassVar[bool]  # usable by a worker, with nobody's request at hand
    poolable: ClassVar[bool]  # a session may be kept for the next caller in this process

    def imap_login(self, client: IMAPClient, mailbox: Mailbox) -> None:
        raise NotImplementedError

    def smtp_login(self, connection: smtplib.SMTP, mailbox: Mailbox) -> None:
        raise NotImplementedError

    def pool_identity(self) -> tuple[object, ...]:
        """What a pooled session depends on besides the mailbox (a changed setting must not
        hand out a session opened under the old one)."""
        return (self.name,)


class MasterUser(AccessStrategy):
    name, background, poolable = Mailbox.Access.MASTER.value, True, True

    def imap_login(self, client: IMAPClient, mailbox: Mailbox) -> None:
        client.plain_login(
            settings.OPERATOR_MASTER_USER,
            settings.OPERATOR_MASTER_PASSWORD,
            authorization_identity=mailbox.address,
        )

    def smtp_login(self, connection: smtplib.SMTP, mailbox: Mailbox) -> None:
        plain = "\0".join(
            (mailbox.address, settings.OPERATOR_MASTER_USER, settings.OPERATOR_MASTER_PASSWORD)
        )
        code, answer = connection.docmd(
            "AUTH", "PLAIN " + base64.b64encode(plain.encode()).decode()
        )
        if code != 235:
            reason = answer.decode("ascii", errors="replace")
            raise OperatorUnavailable(f"SMTP login refused: {code} {reason}")

    def pool_identity(self) -> tuple[object, ...]:
        return (self.name, settings.OPERATOR_MASTER_USER, settings.OPERATOR_MASTER_PASSWORD)


class PersonToken(AccessStrategy):
    name, background, poolable = Mailbox.Access.XOAUTH2.value, False, False

    @staticmethod
    def token() -> str:
        token = psc_access_token.get()
        if not token:
            raise OperatorUnavailable("this mailbox needs a Pro Santé Connect login (XOAUTH2)")
        return token

    def imap_login(self, client: IMAPClient, mailbox: Mailbox) -> None:
        client.oauth2_login(mailbox.address, self.token())

    def smtp_login(self, connection: smtplib.SMTP, mailbox: Mailbox) -> None:
        raw = f"user={mailbox.address}\x01auth=Bearer {self.token()}\x01\x01"
        connection.auth("XOAUTH2", lambda challenge=None: raw)


class StoredCredential(AccessStrategy):
    name, background, poolable = Mailbox.Access.CREDENTIAL.value, True, True

    @staticmethod
    def credential(mailbox: Mailbox) -> tuple[str, str]:
        stored = MailboxCredential.objects.filter(mailbox=mailbox).first()
        if stored is None:
            raise OperatorUnavailable("no stored password for this mailbox")
        return stored.login or mailbox.address, decrypt(stored.secret)

    def imap_login(self, client: IMAPClient, mailbox: Mailbox) -> None:
        client.login(*self.credential(mailbox))

    def smtp_login(self, connection: smtplib.SMTP, mailbox: Mailbox) -> None:
        connection.login(*self.credential(mailbox))


STRATEGIES: dict[str, AccessStrategy] = {
    s.name: s for s in (MasterUser(), PersonToken(), StoredCredential())
}


def strategy_for(mailbox: Mailbox) -> AccessStrategy:
    return STRATEGIES[mailbox.access or settings.OPERATOR_ACCESS_STRATEGY]


def reachable_in_background(mailboxes: QuerySet[Mailbox]) -> QuerySet[Mailbox]:
    """Those a worker or the IDLE watcher can open without the person (a mailbox with no
    access of its own follows OPERATOR_ACCESS_STRATEGY)."""
    names = [name for name, strategy in STRATEGIES.items() if strategy.background]
    by_default = (
        Q(access=Mailbox.Access.DEFAULT)
        if settings.OPERATOR_ACCESS_STRATEGY in names
        else Q(pk__in=[])
    )
    return mailboxes.filter(Q(access__in=names) | by_default)


def imap_login(client: IMAPClient, mailbox: Mailbox) -> None:
    strategy_for(mailbox).imap_login(client, mailbox)


def smtp_login(connection: smtplib.SMTP, mailbox: Mailbox) -> None:
    strategy_for(mailbox).smtp_login(connection, mailbox)
