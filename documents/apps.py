from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Health documents")

    def ready(self) -> None:
        from documents import sending, tasks
        from mailboxes import hooks

        hooks.register_before_queue(sending.before_queue)
        hooks.register_messages_indexed(tasks.after_sync)
