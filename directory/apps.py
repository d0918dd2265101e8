"""The MSSanté trust list (TL) and the Annuaire Santé directory with its autocomplete (DIR).
Depends on mailboxes, never the reverse."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = _("Directory")

    def ready(self) -> None:
        # mailboxes asks its registered checks before queueing and before submitting (TL6).
        from directory.checks import trust_space
        from mailboxes import recipients

        recipients.register(trust_space)
