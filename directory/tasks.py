"""Celery tasks of the directory: thin, they call the domain."""

from __future__ import annotations

from celery import shared_task

from directory.refresh import do_refresh_trust_list


@shared_task(name="directory.refresh_trust_list")
def refresh_trust_list() -> bool:
    """Daily (beat): the trust list from TRUSTLIST_SOURCE; True if a new one is in force."""
    return do_refresh_trust_list().accepted
