"""A random ENVID per outgoing message (it was the row's id, which anyone could guess)."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

import mailboxes.models.outbox


def give_envelope_ids(apps: Any, schema_editor: Any) -> None:
    Outgoing = apps.get_model("mailboxes", "Outgoing")
    for outgoing in Outgoing.objects.only("pk").iterator():
        outgoing.envelope_id = mailboxes.models.outbox.new_envelope_id()
        outgoing.save(update_fields=["envelope_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("mailboxes", "0003_outgoing_claimed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoing",
            name="envelope_id",
            field=models.CharField(max_length=32, null=True),
        ),
        migrations.RunPython(give_envelope_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outgoing",
            name="envelope_id",
            field=models.CharField(
                default=mailboxes.models.outbox.new_envelope_id, max_length=32, unique=True
            ),
        ),
    ]
