"""The three ways to authenticate to the operator, against the real Dovecot."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from pytest_django import Settings

from mailboxes.models import AuditEvent, Mailbox, MailboxCredential, User
from mailboxes.operator import OperatorUnavailable, credentials, strategies
from mailboxes.operator.imap import imap_session, list_folder
from tests.conftest import client_for
from tests.integration.helpers import psc_login, session_store
from webmail.auth import session as auth_session

pytestmark = pytest.mark.integration
KARIM = "karim.benali@hopital-c.mssante.test"


def operator_password(address: str) -> str:
    """The mailbox's password in the test operator's passwd-file."""
    args = os.environ["OPERATOR_BACKEND_ARGS"].split()  # this suite's instance (TEST_INSTANCE)
    root = Path(tempfile.gettempdir()) / f"mssante-operator-{args[args.index('--name') + 1]}"
    for line in (root / "dovecot" / "users").read_text().splitlines():
        if line.startswith(address + ":"):
            return line.split(":")[1].removeprefix("{PLAIN}")
    raise AssertionError(address)


@pytest.fixture
def keys(settings: Settings) -> list[str]:
    settings.WEBMAIL_CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    return settings.WEBMAIL_CREDENTIAL_KEYS


@pytest.mark.django_db
def test_it_logs_in_with_a_stored_password_encrypted_at_rest(
    demo_mail: None, karim_mailbox: Mailbox, keys: list[str]
) -> None:
    password = operator_password(KARIM)
    karim_mailbox.access = Mailbox.Access.CREDENTIAL
    karim_mailbox.save()
    MailboxCredential.objects.create(mailbox=karim_mailbox, secret=credentials.encrypt(password))
    stored = MailboxCredential.objects.values_list("secret", flat=True).get()
    assert password not in stored
    assert list_folder(karim_mailbox, "INBOX", 1, 10).total >= 1
    MailboxCredential.objects.update(secret=credentials.encrypt("not-the-password"))
    with pytest.raises(OperatorUnavailable, match="refused"):
        list_folder(karim_mailbox, "INBOX", 1, 10)


@pytest.mark.django_db
def test_it_rotates_credential_keys(
    karim_mailbox: Mailbox, keys: list[str], settings: Settings
) -> None:
    MailboxCredential.objects.create(mailbox=karim_mailbox, secret=credentials.encrypt("s3cret"))
    new = Fernet.generate_key().decode()
    settings.WEBMAIL_CREDENTIAL_KEYS = [new, *keys]
    assert credentials.rotate_all() == 1
    settings.WEBMAIL_CREDENTIAL_KEYS = [new]  # the old key is gone
    secret = MailboxCredential.objects.get().secret
    assert credentials.decrypt(secret) == "s3cret"
    settings.WEBMAIL_CREDENTIAL_KEYS = keys
    with pytest.raises(OperatorUnavailable, match="cannot be decrypted"):
        credentials.decrypt(secret)


@pytest.mark.django_db(transaction=True)
def test_it_opens_a_mailbox_with_the_persons_psc_token_and_the_operator_decides(
    live_url: str, directory: dict[str, Mailbox], demo_mail: None
) -> None:
    browser, _ = psc_login(live_url, "karim")
    token = session_store(browser)[auth_session.TOKENS]["access"]
    with IMAPClient(
        settings.OPERATOR_IMAP_HOST, port=settings.OPERATOR_IMAP_PORT, ssl=False, timeout=10
    ) as client:
        client.oauth2_login(KARIM, token)
        assert client.select_folder("INBOX")[b"EXISTS"] >= 1
    with (
        IMAPClient(
            settings.OPERATOR_IMAP_HOST, port=settings.OPERATOR_IMAP_PORT, ssl=False, timeout=30
        ) as client,
        pytest.raises(LoginError),
    ):
        client.oauth2_login("cardiologie@hopital-c.mssante.test", token)
    # Through the webmail: mailboxes set to XOAUTH2 use the person's own token.
    Mailbox.objects.filter(address__in=[KARIM, "cardiologie@hopital-c.mssante.test"]).update(
        access=Mailbox.Access.XOAUTH2
    )
    own = directory[KARIM]
    assert "Boîte de réception" in browser.get(f"{live_url}/mailbox/{own.pk}/", timeout=10).text
    service = directory["cardiologie@hopital-c.mssante.test"]
    page = browser.get(f"{live_url}/mailbox/{service.pk}/", timeout=40)
    assert page.status_code == 503  # Karim manages it here, but the operator says no
    assert AuditEvent.objects.filter(
        action="mailbox.sync", mailbox=service, outcome="error"
    ).exists()


@pytest.mark.django_db
def test_it_needs_a_psc_login_for_an_xoauth2_mailbox(karim: User, karim_mailbox: Mailbox) -> None:
    karim_mailbox.access = Mailbox.Access.XOAUTH2
    karim_mailbox.save()
    assert strategies.psc_access_token.get() is None
    with pytest.raises(OperatorUnavailable, match="Pro Santé Connect"), imap_session(karim_mailbox):
        pass
    page = client_for(karim).get(reverse("mail-folder", args=[karim_mailbox.pk]))
    assert page.status_code == 503
