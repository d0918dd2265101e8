"""Celery tasks of health documents: thin (CONFORMANCE.md XDM-R2, "in a Celery task after
sync"). A mailbox a worker cannot open alone (XOAUTH2) is left to the reader: its summaries
are made when the person opens the message."""

from __future__ import annotations

import logging

from celery import shared_task

from documents import reading, summaries
from mailboxes.actions import reading as mail_reading
from mailboxes.mail import mime
from mailboxes.models import Folder

logger = logging.getLogger(__name__)
PER_TASK = 50  # messages summarised per task (a first sync may index thousands)


@shared_task(name="documents.summarise_messages", ignore_result=True)
def summarise_messages(folder_id: int, uids: list[int]) -> int:
    """Summarise the packages of these new messages; returns how many messages were read."""
    folder = Folder.objects.select_related("mailbox").filter(pk=folder_id).first()
    if folder is None:
        return 0
    done = 0
    for uid in uids[:PER_TASK]:
        try:
            parsed = mime.parse(mail_reading.peek(folder.mailbox, folder.name, uid))
        except Exception as exc:  # gone, or not reachable without the person: the reader will
            logger.info("documents: %s/%s not summarised (%s)", folder_id, uid, type(exc).__name__)
            continue
        for part in reading.xdm_parts(parsed):
            payload = reading.payload_of(parsed, part.index)
            summaries.summary_for(folder.mailbox, folder.name, uid, part.index, payload)
        done += 1
    if uids[PER_TASK:]:
        summarise_messages.delay(folder_id, uids[PER_TASK:])
    return done


def after_sync(folder: Folder, uids: list[int]) -> None:
    """The mailboxes hook: new messages with documents are summarised by a worker."""
    summarise_messages.delay(folder.pk, uids)
