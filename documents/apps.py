from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Health documents")

    def ready(self) -> None:
        from django.core import checks

        from documents import sending, tasks
        from mailboxes import hooks

        checks.register(terminology_check)
        hooks.register_before_queue(sending.before_queue)
        hooks.register_messages_indexed(tasks.after_sync)


def terminology_check(**kwargs: Any) -> list[CheckMessage]:
    """DOCUMENTS_CLASS_CODE_MAP names a file that is the ANS's ASS_X04 ConceptMap, or the
    start stops with the reason (sending would otherwise fail on the first CDA)."""
    from django.conf import settings

    from documents import terminology

    path = settings.DOCUMENTS_CLASS_CODE_MAP
    if not path:
        return []
    try:
        terminology.read_class_map(Path(path))
    except (OSError, terminology.BadConceptMap) as exc:
        return [Error(f"DOCUMENTS_CLASS_CODE_MAP: {exc}", id="documents.E001")]
    return []
