"""Where a log line comes from: the request, the Celery task, the mailbox. Never what it is
about (no subject, body, address or patient identity: CONFORMANCE.md, STYLE.md).

Context variables, so every line logged while they are set carries them (webmail.logs adds
them to each record): the site's middleware binds the request id and the mailbox of the URL,
the worker binds the task, and the actions bind the mailbox they work on.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)
task_name: ContextVar[str | None] = ContextVar("task_name", default=None)
mailbox_id: ContextVar[int | None] = ContextVar("mailbox_id", default=None)

FIELDS: dict[str, ContextVar[str | None] | ContextVar[int | None]] = {
    "request_id": request_id,
    "task_id": task_id,
    "task": task_name,
    "mailbox_id": mailbox_id,
}


def current() -> dict[str, str | int]:
    """The fields set now, by their names in a log line."""
    return {name: value for name, var in FIELDS.items() if (value := var.get()) is not None}


@contextlib.contextmanager
def bound(mailbox: int | None) -> Iterator[None]:
    """The mailbox worked on, for the lines logged inside; the outer one again after."""
    token = mailbox_id.set(mailbox)
    try:
        yield
    finally:
        mailbox_id.reset(token)


class _Row(Protocol):
    @property
    def pk(self) -> Any: ...


Row = TypeVar("Row", bound=_Row)
P = ParamSpec("P")
R = TypeVar("R")


def about_mailbox(func: Callable[Concatenate[Row, P], R]) -> Callable[Concatenate[Row, P], R]:
    """An action whose first argument is the mailbox: its lines name it."""

    @functools.wraps(func)
    def wrapper(mailbox: Row, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with bound(mailbox.pk):
            return func(mailbox, *args, **kwargs)

    return wrapper


class Scope:
    """Set several fields now, put every one back as it was with `close()` (a request, a
    task: begun and ended in different callbacks, so not a `with`)."""

    def __init__(self, **fields: str | int | None) -> None:
        self.saved = {name: var.get() for name, var in FIELDS.items()}
        for name, value in fields.items():
            FIELDS[name].set(value)  # type: ignore[arg-type]  # each var holds its own type

    def close(self) -> None:
        for name, value in self.saved.items():
            FIELDS[name].set(value)  # type: ignore[arg-type]
