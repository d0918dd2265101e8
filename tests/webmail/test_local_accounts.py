"""The password + one-time-code door, with real TOTP codes computed in the test."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from mailboxes.models import AppDevice, AuditEvent, Invitation, Mailbox, Structure, User
from mailboxes.models.devices import BackupCode
from tests.conftest import client_for
from webmail.auth import local
from webmail.auth import session as auth_session

pytestmark = pytest.mark.django_db
PASSWORD = "ordonnance-du-mardi-matin"
SOPHIE = "sophie.martin@exemple.fr"


def code_for(user: User, steps_ahead: int = 0) -> str:
    """The code the person's app shows now (or `steps_ahead` periods later)."""
    device = AppDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def jeanne(pharmacy: Structure) -> User:
    """Manages the pharmacy: may invite its staff."""
    user = User.objects.create_user("jeanne", subject_name_id="810209876543")
    pharmacy.managers.add(user)
    return user


def invite(inviter: User, email: str = SOPHIE) -> str:
    structure = inviter.managed_structures.first()
    page = client_for(inviter).post(
        reverse("auth-invite"), {"email": email, "structure": structure.pk if structure else ""}
    )
    assert page.status_code == 200
    [message] = [m for m in mail.outbox if email in m.to]
    mail.outbox.clear()
    assert "vous invite à la messagerie MSSanté" in message.body
    link = re.search(r"https?://\S+/invitation/#(\S+)", message.body)
    assert link, message.body
    return link.group(1)


def accept(token: str, password: str = PASSWORD, browser: Client | None = None) -> Client:
    """Open an invitation (what static/js/invitation.js posts) and choose a password."""
    browser = browser or Client()
    page = browser.post(reverse("auth-invitation"), {"token": token})
    assert page.status_code == 302 and page.url == reverse("auth-invitation-password")
    browser.post(page.url, {"password1": password, "password2": password})
    return browser


def enrol(token: str, password: str = PASSWORD) -> tuple[Client, User, list[str]]:
    """Accept an invitation in a fresh browser: password, app confirmation, backup codes."""
    browser = Client()
    browser.post(reverse("auth-invitation"), {"token": token})
    page = browser.post(
        reverse("auth-invitation-password"), {"password1": password, "password2": password}
    )
    assert page.url == reverse("auth-enrol"), page.content.decode()
    return (browser, *confirm_app(browser, SOPHIE))


def confirm_app(browser: Client, email: str) -> tuple[User, list[str]]:
    enrolling = browser.get(reverse("auth-enrol")).content.decode()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrolling)
    assert secret and "<svg" in enrolling
    device = AppDevice.objects.get(confirmed=False, user__email=email.lower())
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page = browser.post(reverse("auth-enrol"), {"code": f"{totp.token():06d}"})
    assert page.url == reverse("auth-backup-codes")
    codes = re.findall(r"<li><code>(\w+)</code></li>", browser.get(page.url).content.decode())
    return device.user, codes


def password_login(email: str, password: str, address: str = "127.0.0.1") -> tuple[Client, str]:
    browser = Client(REMOTE_ADDR=address)
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
    assert Client().post(reverse("auth-invitation"), {"token": token}).status_code == 404
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"invitation.create", "invitation.accept"} <= actions


def test_it_keeps_the_invitation_token_out_of_every_url(jeanne: User) -> None:
    """Browsers never send a URL's fragment: the token reaches no access log nor Referer."""
    client_for(jeanne).post(
        reverse("auth-invite"), {"email": SOPHIE, "structure": jeanne.managed_structures.first().pk}
    )
    [message] = mail.outbox
    [link] = re.findall(r"https?://\S+/invitation/\S*", message.body)
    parts = urlsplit(link)
    assert parts.path == reverse("auth-invitation") and not parts.query
    assert local.open_invitation(parts.fragment) == Invitation.objects.get()
    page = Client().get(parts.path)  # all the browser asks for
    assert page.status_code == 200 and "js/invitation.js" in page.content.decode()


def test_it_traces_and_throttles_guessed_invitation_codes(jeanne: User, settings: object) -> None:
    settings.WEBMAIL_LOGIN_MAX_FAILURES_PER_ADDRESS = 3  # type: ignore[attr-defined]
    token = invite(jeanne)
    guesser = Client(REMOTE_ADDR="203.0.113.77")
    for n in range(3):
        assert guesser.post(reverse("auth-invitation"), {"token": f"guess{n}"}).status_code == 404
    assert AuditEvent.objects.filter(action="invitation.open", outcome="denied").count() == 3
    # Blocked now: even the right code is refused from there, not from anywhere else.
    assert guesser.post(reverse("auth-invitation"), {"token": token}).status_code == 404
    assert Client().post(reverse("auth-invitation"), {"token": token}).status_code == 302


def test_it_refuses_invitations_from_people_who_manage_nothing(charlie: User) -> None:
    assert client_for(charlie).get(reverse("auth-invite")).status_code == 403


def test_it_invites_only_for_the_inviters_own_structures(jeanne: User) -> None:
    other = Structure.objects.create(name="Cabinet voisin", kind="practice")
    page = client_for(jeanne).post(reverse("auth-invite"), {"email": SOPHIE, "structure": other.pk})
    assert page.status_code == 200 and not Invitation.objects.exists()
    page = client_for(jeanne).post(reverse("auth-invite"), {"email": SOPHIE})  # none at all
    assert page.status_code == 200 and not Invitation.objects.exists()
    assert not mail.outbox


def test_it_refuses_a_weak_password_and_an_expired_invitation(jeanne: User) -> None:
    token = invite(jeanne)
    browser = Client()
    browser.post(reverse("auth-invitation"), {"token": token})
    page = browser.post(
        reverse("auth-invitation-password"), {"password1": "123456", "password2": "123456"}
    )
    assert page.status_code == 200 and not User.objects.filter(email=SOPHIE).exists()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = Client().post(reverse("auth-invitation"), {"token": token})
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


def test_it_keeps_app_keys_and_backup_codes_encrypted_at_rest(jeanne: User) -> None:
    from django.db import connection

    _, user, codes = enrol(invite(jeanne))
    device = AppDevice.objects.get(user=user)
    secrets_in_clear = [device.bin_key.hex(), *codes]
    tables = [AppDevice._meta.db_table, BackupCode._meta.db_table, "otp_totp_totpdevice",
              "otp_static_statictoken"]  # fmt: skip
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - our own table names
            dump = repr(cursor.fetchall()).lower()
            assert not any(secret.lower() in dump for secret in secrets_in_clear), table
    browser, _ = password_login(SOPHIE, PASSWORD)  # and they still work
    assert browser.post(reverse("auth-code"), {"code": codes[1]}).url == reverse("mail-home")


def test_it_locks_a_name_from_one_address_after_repeated_wrong_passwords(jeanne: User) -> None:
    _, _user, _ = enrol(invite(jeanne))
    for _ in range(5):
        _, url = password_login(SOPHIE, "not-the-password", "203.0.113.7")
    assert url == reverse("auth-login") + "?error=locked"
    _, url = password_login(SOPHIE, PASSWORD, "203.0.113.7")  # even the right one, for now
    assert url == reverse("auth-login") + "?error=locked"
    assert AuditEvent.objects.filter(action="login.password", response="locked").exists()
    # Whoever guesses from elsewhere cannot lock Sophie out: from her own desk she gets in.
    _, url = password_login(SOPHIE, PASSWORD, "198.51.100.20")
    assert url == reverse("auth-code")


def test_it_answers_an_unknown_address_exactly_like_a_known_one(jeanne: User) -> None:
    enrol(invite(jeanne))
    answers = {}
    for email in (SOPHIE, "nobody@exemple.fr"):
        answers[email] = [password_login(email, "wrong", "203.0.113.9")[1] for _ in range(6)]
    assert answers[SOPHIE] == answers["nobody@exemple.fr"]
    assert answers[SOPHIE][-1] == reverse("auth-login") + "?error=locked"
    page = unescape(Client().get(answers[SOPHIE][-1]).content.decode())
    # An invitation can no longer reset a set-up account: the page must not suggest one.
    assert "verrouillé" in page and "invitation" not in page.lower()


def test_it_blocks_an_address_spraying_many_names(jeanne: User, settings: object) -> None:
    settings.WEBMAIL_LOGIN_MAX_FAILURES_PER_ADDRESS = 8  # type: ignore[attr-defined]
    _, _user, _ = enrol(invite(jeanne))
    for n in range(8):
        password_login(f"guess{n}@exemple.fr", "wrong", "203.0.113.66")
    _, url = password_login(SOPHIE, PASSWORD, "203.0.113.66")
    assert url == reverse("auth-login") + "?error=throttled"
    page = Client(REMOTE_ADDR="203.0.113.66").get(reverse("oidc_authentication_init"))
    assert page.url == reverse("auth-login") + "?error=throttled"  # the PSC door too
    assert AuditEvent.objects.filter(action="login.psc", response="throttled").exists()
    _, url = password_login(SOPHIE, PASSWORD, "198.51.100.20")
    assert url == reverse("auth-code")


def test_it_locks_after_repeated_wrong_codes_and_a_success_clears_the_count(
    jeanne: User,
) -> None:
    _, user, _ = enrol(invite(jeanne))
    browser, _ = password_login(SOPHIE, PASSWORD)
    for _ in range(3):
        assert browser.post(reverse("auth-code"), {"code": "000000"}).status_code == 200
    # django-otp's own throttling makes the app wait a few seconds after failures: past.
    AppDevice.objects.update(throttling_failure_timestamp=None)
    page = browser.post(reverse("auth-code"), {"code": code_for(user, steps_ahead=1)})
    assert page.url == reverse("mail-home")
    browser, _ = password_login(SOPHIE, PASSWORD)
    for _ in range(4):
        page = browser.post(reverse("auth-code"), {"code": "000000"})
        assert page.status_code == 200
    page = browser.post(reverse("auth-code"), {"code": "000000"})
    assert page.url == reverse("auth-login") + "?error=locked"
    assert AuditEvent.objects.filter(action="login.otp", response="locked").exists()


def test_it_asks_only_the_password_backend_at_the_password_step(
    jeanne: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webmail.auth.oidc import ProSanteConnectBackend

    enrol(invite(jeanne))
    asked: list[object] = []
    monkeypatch.setattr(
        ProSanteConnectBackend, "authenticate", lambda *a, **k: asked.append(k) or None
    )
    browser = Client()
    page = browser.post(
        reverse("auth-password") + "?code=abc&state=def", {"email": SOPHIE, "password": PASSWORD}
    )
    assert page.url == reverse("auth-code") and asked == []


def test_it_never_lets_an_invitation_take_over_an_existing_account(
    jeanne: User, karim: User, karim_mailbox: Mailbox
) -> None:
    """The review's attack: Karim gives Jeanne reader on his mailbox; Jeanne invites Karim's
    address, reads the invitation in his INBOX and would set her own password and app."""
    from mailboxes.actions.delegations import do_grant_delegation

    karim.email = karim_mailbox.address
    karim.save()
    do_grant_delegation(karim, karim_mailbox, jeanne, "reader")
    page = client_for(jeanne).post(
        reverse("auth-invite"),
        {"email": karim.email, "structure": jeanne.managed_structures.first().pk},
    )
    assert "a déjà un compte" in unescape(page.content.decode())
    assert not Invitation.objects.exists() and not mail.outbox
    # An invitation sent before the address had an account cannot be used on it afterwards.
    token = invite(jeanne, "karim.futur@exemple.fr")
    karim.email = "karim.futur@exemple.fr"
    karim.save()
    browser = Client()
    browser.post(reverse("auth-invitation"), {"token": token})
    page = browser.post(
        reverse("auth-invitation-password"), {"password1": PASSWORD, "password2": PASSWORD}
    )
    assert page.status_code == 409
    karim.refresh_from_db()
    assert not karim.has_usable_password() and not AppDevice.objects.filter(user=karim).exists()
    assert "_auth_user_id" not in browser.session
    assert AuditEvent.objects.filter(action="invitation.accept", outcome="denied").exists()


@pytest.mark.parametrize("kind", ["superuser", "local account"])
def test_it_refuses_an_invitation_to_an_administrator_or_a_set_up_account(
    jeanne: User, kind: str
) -> None:
    if kind == "superuser":
        target = User.objects.create_superuser("root", SOPHIE, "un-mot-de-passe-d-admin")
    else:
        _, target, _ = enrol(invite(jeanne))
    password = target.password
    page = client_for(jeanne).post(
        reverse("auth-invite"), {"email": SOPHIE, "structure": jeanne.managed_structures.first().pk}
    )
    assert "a déjà un compte" in unescape(page.content.decode())
    target.refresh_from_db()
    assert target.password == password
    assert Invitation.objects.filter(accepted_at__isnull=True).count() == 0


def test_it_closes_older_invitations_when_one_is_used(jeanne: User) -> None:
    first, second = invite(jeanne), invite(jeanne)
    _, _user, _ = enrol(second)
    page = Client().post(reverse("auth-invitation"), {"token": first})
    assert page.status_code == 404


def test_it_takes_up_an_enrolment_left_half_way(jeanne: User) -> None:
    token = invite(jeanne)
    accept(token)  # password chosen, app never confirmed: the browser was closed
    _browser, user, _ = enrol(token, password="un-autre-mot-de-passe-2026")
    assert user.check_password("un-autre-mot-de-passe-2026")


def test_it_resets_a_lost_phone_through_the_administrators_command(jeanne: User) -> None:
    _, user, _ = enrol(invite(jeanne))
    call_command("reset_local_login", SOPHIE)
    [message] = mail.outbox
    token = re.search(r"/invitation/#(\S+)", message.body).group(1)  # type: ignore[union-attr]
    user.refresh_from_db()
    assert not user.has_usable_password() and not AppDevice.objects.filter(user=user).exists()
    _, same, _ = enrol(token, password="nouveau-mot-de-passe-2026")
    assert same.pk == user.pk
    _, url = password_login(SOPHIE, PASSWORD)
    assert url == reverse("auth-login") + "?error=password"


def test_it_lets_a_psc_professional_add_the_password_door_themselves(alice: User) -> None:
    alice.email = SOPHIE
    alice.save()
    browser = client_for(alice)  # logged in with Pro Santé Connect
    page = browser.post(
        reverse("auth-add-password"), {"password1": PASSWORD, "password2": PASSWORD}
    )
    assert page.url == reverse("auth-enrol")
    user, codes = confirm_app(browser, SOPHIE)
    assert user.pk == alice.pk and len(codes) == 10
    browser, url = password_login(SOPHIE, PASSWORD)
    assert url == reverse("auth-code")
    assert browser.post(reverse("auth-code"), {"code": codes[0]}).url == reverse("mail-home")


def test_it_offers_the_password_door_only_to_a_psc_session(jeanne: User) -> None:
    _, _user, codes = enrol(invite(jeanne))
    browser, _ = password_login(SOPHIE, PASSWORD)
    browser.post(reverse("auth-code"), {"code": codes[0]})
    page = browser.post(
        reverse("auth-add-password"), {"password1": "x" * 20, "password2": "x" * 20}
    )
    assert page.status_code == 403


def test_it_reports_a_refused_invitation_e_mail_instead_of_failing(
    jeanne: User, settings: object, operator_backend: object
) -> None:
    """The real Postfix refuses a recipient outside the trust space (554): a message on the
    page and an audit event, not a 500."""
    import os

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", int(os.environ["OPERATOR_MX_PORT"])  # type: ignore[attr-defined]
    page = client_for(jeanne).post(
        reverse("auth-invite"),
        {"email": "sophie@hors-espace.example", "structure": jeanne.managed_structures.first().pk},
    )
    assert page.status_code == 200
    assert "n’a pas pu être envoyé" in unescape(page.content.decode())
    assert AuditEvent.objects.filter(action="invitation.email", outcome="error").exists()


def test_it_ends_a_password_session_that_skipped_the_code(alice: User) -> None:
    browser = Client()
    browser.force_login(alice)
    store = browser.session
    store[auth_session.IDENTITY] = {"method": auth_session.PASSWORD, "sub": "", "snid": ""}
    store[auth_session.STARTED] = store[auth_session.SEEN] = time.time()
    store.save()
    page = browser.get(reverse("mail-home"))
    assert page.url == reverse("auth-login") + "?ended=second-factor"


def test_it_says_to_wait_when_a_right_code_follows_a_wrong_one_too_soon(
    jeanne: User, settings: object
) -> None:
    """From the walks (issue 15): django-otp checks no app code for a while after a wrong
    one; a right code typed then was answered "Code incorrect". It now says to wait, and
    the same right code works once the wait is over."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 30  # type: ignore[attr-defined]  # a wait to see
    _, user, _ = enrol(invite(jeanne))
    browser, _ = password_login(SOPHIE, PASSWORD)
    assert browser.post(reverse("auth-code"), {"code": "000000"}).status_code == 200
    page = browser.post(reverse("auth-code"), {"code": code_for(user, steps_ahead=1)})
    text = unescape(page.content.decode())
    assert page.status_code == 200 and "patientez" in text and "Code incorrect" not in text
    AppDevice.objects.update(throttling_failure_timestamp=None)  # the wait is over
    page = browser.post(reverse("auth-code"), {"code": code_for(user, steps_ahead=1)})
    assert page.url == reverse("mail-home")
