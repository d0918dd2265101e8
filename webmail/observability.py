"""What every request and every Celery task says about itself: a request id, the mailbox
and task in every log line (mailboxes.logcontext), and their latency counted for /metrics.

RequestMiddleware comes first in MIDDLEWARE, so every line logged while a request is served
carries its id, and the time measured is the whole of it. The id comes from the incoming
X-Request-ID when it looks like one (the TLS proxy's, to join its logs to ours), else is
made here; either way the answer echoes it.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from mailboxes import logcontext
from webmail import metrics

HEADER = "X-Request-ID"
# Letters, digits and . _ : - only (no space, no @: it goes into logs and a header as is).
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
request_logger = logging.getLogger("webmail.request")


def request_id(request: HttpRequest) -> str:
    incoming = request.headers.get(HEADER, "")
    return incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex


def view_label(request: HttpRequest) -> str:
    """The URL pattern's name (bounded: one per pattern), never the path (it holds UIDs)."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return str(match.view_name)
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unresolved"


class RequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request_id(request)
        scope = logcontext.Scope(request_id=rid, mailbox_id=None)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            response[HEADER] = rid
            view, status = view_label(request), response.status_code
            metrics.REQUESTS.observe((view, str(status)), seconds)
            if settings.WEBMAIL_LOG_REQUESTS:
                fields: dict[str, object] = {"method": request.method, "view": view}
                fields.update(status=status, duration_ms=round(seconds * 1000, 1))
                request_logger.info(
                    "%s %s %s %.0f ms", request.method, view, status, seconds * 1000, extra=fields
                )
            return response
        finally:
            scope.close()

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., HttpResponse],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        if isinstance(mailbox := kwargs.get("mailbox_id"), int):
            logcontext.mailbox_id.set(mailbox)  # put back by the scope when the request ends


# --- Celery: connected to the task signals in webmail/celery.py ---------------------------

_running: dict[str, tuple[float, logcontext.Scope]] = {}


@functools.cache
def _mailbox_argument(run: Callable[..., Any]) -> int | None:
    """Where a task takes its mailbox id (its first parameter named mailbox_id), if it does."""
    names = list(inspect.signature(run).parameters)
    return names.index("mailbox_id") if "mailbox_id" in names else None


def task_started(
    task_id: str, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], **_: Any
) -> None:
    position = _mailbox_argument(task.run)
    mailbox = kwargs.get("mailbox_id")
    if mailbox is None and position is not None and position < len(args):
        mailbox = args[position]
    scope = logcontext.Scope(
        task_id=task_id, task=task.name, mailbox_id=mailbox if isinstance(mailbox, int) else None
    )
    _running[task_id] = (time.perf_counter(), scope)


def task_finished(task_id: str, task: Any, state: str | None = None, **_: Any) -> None:
    started = _running.pop(task_id, None)
    if started is None:
        return
    began, scope = started
    metrics.TASKS.observe((task.name, state or "UNKNOWN"), time.perf_counter() - began)
    scope.close()
