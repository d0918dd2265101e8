"""Move one-time-code apps and backup codes kept in clear by django-otp's own plugins into
the encrypted devices (mailboxes/models/devices.py), then delete the clear ones."""

from django.db import migrations


def encrypt_devices(apps, schema_editor):
    from binascii import unhexlify

    from mailboxes import crypto

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    AppDevice = apps.get_model("mailboxes", "AppDevice")
    BackupCodes = apps.get_model("mailboxes", "BackupCodes")
    BackupCode = apps.get_model("mailboxes", "BackupCode")
    for old in TOTPDevice.objects.all():
        AppDevice.objects.create(
            user_id=old.user_id,
            name=old.name,
            confirmed=old.confirmed,
            encrypted_key=crypto.encrypt_bytes(unhexlify(old.key.encode())),
            step=old.step,
            t0=old.t0,
            digits=old.digits,
            tolerance=old.tolerance,
            drift=old.drift,
            last_t=old.last_t,
        )
    TOTPDevice.objects.all().delete()
    for old in StaticDevice.objects.all():
        new = BackupCodes.objects.create(user_id=old.user_id, name=old.name, confirmed=True)
        BackupCode.objects.bulk_create(
            BackupCode(device=new, encrypted_code=crypto.encrypt(token.token))
            for token in old.token_set.all()
        )
    StaticDevice.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mailboxes", "0004_local_door_secrets"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(encrypt_devices, migrations.RunPython.noop)]
