"""Celery tasks of the directory: thin, they call the domain."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from directory import refresh, trustlist
from directory.annuaire import do_import_annuaire


@shared_task(name="directory.refresh_trust_list")
def refresh_trust_list() -> bool:
    """Daily (beat): the trust list from TRUSTLIST_SOURCE; True if a new one is in force."""
    return refresh.do_refresh_trust_list().accepted


@shared_task(name="directory.import_annuaire")
def import_annuaire() -> bool:
    """Daily (beat): the extraction from ANNUAIRE_SOURCE (a file, or the ANS's https URL of
    the ZIP); nothing when it is not set. True if the directory was replaced."""
    source = settings.ANNUAIRE_SOURCE
    if not source:
        return False
    if not source.startswith("https://"):
        return do_import_annuaire(Path(source)).accepted
    with tempfile.NamedTemporaryFile(suffix=".zip") as downloaded:
        refresh.download(source, downloaded, settings.ANNUAIRE_MAX_BYTES)
        return do_import_annuaire(Path(downloaded.name)).accepted


@worker_ready.connect
def load_trust_list_when_empty(**kwargs: Any) -> None:
    """TL3: at start-up, a worker asks for the list when none was ever accepted (without
    one, every recipient outside the operator's domains is refused)."""
    if settings.TRUSTLIST_REFRESH_AT_START and trustlist.current() is None:
        refresh_trust_list.delay()
