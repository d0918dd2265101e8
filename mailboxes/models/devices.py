"""Second factors of the password door, their secrets encrypted at rest (mailboxes/crypto.py).

django-otp's own TOTPDevice and StaticToken keep the app's key and the backup codes in clear
in the database; these keep only Fernet tokens, so a copy of the database alone lets nobody
compute a code. django-otp's matching (`django_otp.match_token`) finds them like its own.
"""

from __future__ import annotations

import hmac
import secrets
import time
from base64 import b32encode
from typing import ClassVar
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models, transaction
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from mailboxes import crypto

KEY_BYTES = 20  # RFC 4226 §4: 160 bits, what authenticator apps expect for SHA-1
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
BACKUP_LENGTH = 10


def new_key() -> str:
    return crypto.encrypt_bytes(secrets.token_bytes(KEY_BYTES))


class AppDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP, RFC 6238): 30-second steps, 6 digits, one step of
    tolerance each way, a code never accepted twice (last_t), throttled after failures."""

    encrypted_key: models.TextField[str, str] = models.TextField(default=new_key)
    step: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=30)
    t0: models.BigIntegerField[int, int] = models.BigIntegerField(default=0)
    digits: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=6)
    tolerance: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(
        default=1
    )
    drift: models.SmallIntegerField[int, int] = models.SmallIntegerField(default=0)
    last_t: models.BigIntegerField[int, int] = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        return crypto.decrypt_bytes(self.encrypted_key)

    def totp(self) -> TOTP:
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        return totp

    def verify_token(self, token: object) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed or not str(token).isdigit():
            if allowed:
                self.throttle_increment(commit=True)
            return False
        totp = self.totp()
        if not totp.verify(int(str(token)), self.tolerance, self.last_t + 1):
            self.throttle_increment(commit=True)
            return False
        self.last_t, self.drift = totp.t(), totp.drift
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def config_url(self) -> str:
        """The otpauth:// URI apps read from the QR code (Google's Key Uri Format)."""
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        params = {
            "secret": b32encode(self.bin_key).decode(),
            "algorithm": "SHA1",
            "digits": self.digits,
            "period": self.step,
        }
        return f"otpauth://totp/{quote(label)}?{urlencode(params)}&issuer={quote(issuer)}"


class BackupCodes(ThrottlingMixin, Device):
    """Single-use codes written down at enrolment, for a lost phone."""

    class Meta(Device.Meta):
        verbose_name = "backup codes"

    def issue(self, count: int) -> list[str]:
        """New codes replacing any left; returned once, to be shown once."""
        codes = [
            "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_LENGTH))
            for _ in range(count)
        ]
        self.codes.all().delete()
        BackupCode.objects.bulk_create(
            BackupCode(device=self, encrypted_code=crypto.encrypt(code)) for code in codes
        )
        return codes

    def verify_token(self, token: object) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        given = str(token).strip().lower().encode()
        with transaction.atomic():
            for code in self.codes.select_for_update():
                if hmac.compare_digest(crypto.decrypt(code.encrypted_code).encode(), given):
                    code.delete()  # single use
                    self.throttle_reset()
                    return True
        self.throttle_increment(commit=True)
        return False

    def get_throttle_factor(self) -> int:
        return 1


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodes, on_delete=models.CASCADE, related_name="codes")
    encrypted_code = models.TextField()

    objects: ClassVar[models.Manager[BackupCode]] = models.Manager()

    def __str__(self) -> str:
        return f"backup code {self.pk}"  # never the code itself


@transaction.atomic
def rotate_secrets() -> int:
    """Re-encrypt every app key and backup code with the newest key."""
    count = 0
    for device in AppDevice.objects.select_for_update():
        device.encrypted_key = crypto.rotate(device.encrypted_key)
        device.save(update_fields=["encrypted_key"])
        count += 1
    for code in BackupCode.objects.select_for_update():
        code.encrypted_code = crypto.rotate(code.encrypted_code)
        code.save(update_fields=["encrypted_code"])
        count += 1
    return count
