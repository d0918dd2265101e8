from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Health documents")

    def ready(self) -> None:
        from documents import sending
        from mailboxes import hooks

        hooks.register_before_queue(sending.before_queue)
