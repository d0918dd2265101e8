"""The password + one-time-code door, with real TOTP codes computed in the test."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html import unescape

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailboxes.models import AuditEvent, Invitation, Structure, User
from webmail.auth import session as auth_session

pytestmark = pytest.mark.django_db
PASSWORD = "ordonnance-du-mardi-matin"
SOPHIE = "sophie.martin@exemple.fr"


def code_for(user: User, steps_ahead: int = 0) -> str:
    """The code the person's app shows now (or `steps_ahead` periods later)."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def jeanne(pharmacy: Structure) -> User:
    """Manages the pharmacy: may invite its staff."""
    user = User.objects.create_user("jeanne", subject_name_id="810209876543")
    pharmacy.managers.add(user)
    return user


def manager_client(user: User) -> Client:
    from tests.conftest import client_for

    return client_for(user)


def invite(inviter: User, email: str = SOPHIE) -> str:
    with TestCase.captureOnCommitCallbacks(execute=True):  # the mail leaves after the commit
        page = manager_client(inviter).post(reverse("auth-invite"), {"email": email})
    assert page.status_code == 200
    [message] = [m for m in mail.outbox if email in m.to]
    mail.outbox.clear()
    assert "vous invite à la messagerie MSSanté" in message.body
    link = re.search(r"https?://\S+/invitation/(\S+)/", message.body)
    assert link, message.body
    return link.group(1)


def enrol(token: str, password: str = PASSWORD) -> tuple[Client, User, list[str]]:
    """Accept an invitation in a fresh browser: password, app confirmation, backup codes."""
    browser = Client()
    page = browser.post(
        reverse("auth-invitation", args=[token]), {"password1": password, "password2": password}
    )
    assert page.url == reverse("auth-enrol"), page.content.decode()
    enrolling = browser.get(reverse("auth-enrol")).content.decode()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrolling)
    assert secret and "<svg" in enrolling
    device = TOTPDevice.objects.get(confirmed=False, user__email=SOPHIE.lower())
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page = browser.post(reverse("auth-enrol"), {"code": f"{totp.token():06d}"})
    assert page.url == reverse("auth-backup-codes")
    codes = re.findall(r"<li><code>(\w+)</code></li>", browser.get(page.url).content.decode())
    return browser, device.user, codes


def password_login(email: str, password: str) -> tuple[Client, str]:
    browser = Client()
    page = browser.post(reverse("auth-password"), {"email": email, "password": password})
    return browser, page.url


def test_it_lets_a_manager_invite_and_the_person_enrol(jeanne: User) -> None:
    token = invite(jeanne)
    invitation = Invitation.objects.get()
    assert invitation.token_digest != token and token not in invitation.token_digest
    browser, user, codes = enrol(token)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert user.email == SOPHIE and user.check_password(PASSWORD)
    assert browser.get(reverse("mail-home")).status_code == 200  # logged in, verified
    assert browser.get(reverse("auth-backup-codes")).url == reverse("mail-home")  # shown once
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert Client().get(reverse("auth-invitation", args=[token])).status_code == 404
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"invitation.create", "invitation.accept"} <= actions


def test_it_refuses_invitations_from_people_who_manage_nothing(charlie: User) -> None:
    assert manager_client(charlie).get(reverse("auth-invite")).status_code == 403


def test_it_refuses_a_weak_password_and_an_expired_invitation(jeanne: User) -> None:
    token = invite(jeanne)
    page = Client().post(
        reverse("auth-invitation", args=[token]), {"password1": "123456", "password2": "123456"}
    )
    assert page.status_code == 200 and not User.objects.filter(email=SOPHIE).exists()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = Client().get(reverse("auth-invitation", args=[token]))
    assert page.status_code == 404
    assert "Cette invitation ne peut pas être utilisée" in unescape(page.content.decode())


def test_it_logs_in_with_password_then_a_real_totp_code(jeanne: User) -> None:
    _, user, _ = enrol(invite(jeanne))
    browser, url = password_login(SOPHIE, PASSWORD)
    assert url == reverse("auth-code")
    assert browser.get(reverse("mail-home")).url.startswith(reverse("auth-login"))  # not yet
    page = browser.post(reverse("auth-code"), {"code": code_for(user, steps_ahead=1)})
    assert page.url == reverse("mail-home")
    assert browser.get(reverse("mail-home")).status_code == 200
    identity = browser.session[auth_session.IDENTITY]
    assert identity["method"] == auth_session.PASSWORD
    assert AuditEvent.objects.filter(action="login.password", outcome="ok", actor=user).exists()


def test_it_accepts_a_backup_code_once(jeanne: User) -> None:
    _, _, codes = enrol(invite(jeanne))
    browser, _ = password_login(SOPHIE, PASSWORD)
    assert browser.post(reverse("auth-code"), {"code": codes[0]}).url == reverse("mail-home")
    browser, _ = password_login(SOPHIE, PASSWORD)
    page = browser.post(reverse("auth-code"), {"code": codes[0]})
    assert page.status_code == 200
    assert "Code incorrect ou déjà utilisé" in unescape(page.content.decode())


def test_it_locks_the_account_after_repeated_wrong_passwords(jeanne: User) -> None:
    _, user, _ = enrol(invite(jeanne))
    for _ in range(5):
        _, url = password_login(SOPHIE, "not-the-password")
    assert url == reverse("auth-login") + "?error=locked"
    _, url = password_login(SOPHIE, PASSWORD)  # even the right one, for now
    assert url == reverse("auth-login") + "?error=locked"
    assert AuditEvent.objects.filter(action="login.password", response="locked").exists()
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    _, url = password_login(SOPHIE, PASSWORD)
    assert url == reverse("auth-code")


def test_it_locks_the_account_after_repeated_wrong_codes(jeanne: User) -> None:
    _, user, _ = enrol(invite(jeanne))
    browser, _ = password_login(SOPHIE, PASSWORD)
    for _ in range(4):
        page = browser.post(reverse("auth-code"), {"code": "000000"})
        assert page.status_code == 200
    page = browser.post(reverse("auth-code"), {"code": "000000"})
    assert page.url == reverse("auth-login") + "?error=locked"
    user.refresh_from_db()
    assert user.locked_until is not None
    assert AuditEvent.objects.filter(action="login.otp", response="locked").exists()


def test_it_resets_password_and_app_through_a_new_invitation(jeanne: User) -> None:
    _, user, _ = enrol(invite(jeanne))
    old_device = TOTPDevice.objects.get(user=user)
    _, same_user, _ = enrol(invite(jeanne), password="nouveau-mot-de-passe-2026")
    assert same_user.pk == user.pk
    assert not TOTPDevice.objects.filter(pk=old_device.pk).exists()
    _, url = password_login(SOPHIE, PASSWORD)
    assert url == reverse("auth-login") + "?error=password"


def test_it_gives_a_psc_professional_the_same_account_through_both_doors(
    jeanne: User, alice: User
) -> None:
    alice.email = SOPHIE
    alice.save()
    _, user, _ = enrol(invite(jeanne))
    assert user.pk == alice.pk and user.subject_name_id == "810000000001"


def test_it_ends_a_password_session_that_skipped_the_code(alice: User) -> None:
    browser = Client()
    browser.force_login(alice)
    store = browser.session
    store[auth_session.IDENTITY] = {"method": auth_session.PASSWORD, "sub": "", "snid": ""}
    store[auth_session.STARTED] = store[auth_session.SEEN] = time.time()
    store.save()
    page = browser.get(reverse("mail-home"))
    assert page.url == reverse("auth-login") + "?ended=second-factor"
