"""Log lines as JSON (WEBMAIL_LOG_FORMAT=json), each saying where it comes from and never
what it is about.

Every line gets the fields of mailboxes.logcontext (request id, Celery task id and name,
mailbox id) from ContextFilter; JsonFormatter writes one object per line. Health data never
goes in: our own messages name ids, never a subject, body or patient; the local part of any
address a library puts in a message is masked; an exception is logged by its type and where
it was raised, never its text (an email or IMAP error quotes the header or the answer it
choked on). The plain format keeps Python's full traceback, for development.
Loaded by the LOGGING setting before the apps: nothing here may import a model.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime

from mailboxes import logcontext

# Fields our own code passes as `extra` (the request line): kept; any other extra (Django
# hands over its request object) is not.
EXTRA_FIELDS = ("method", "view", "status", "duration_ms")
ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@((?:[\w-]+\.)+[\w-]+)", re.UNICODE)


class ContextFilter(logging.Filter):
    """Adds the request, task and mailbox of the moment to each record (filters on a handler
    see every record it writes, whichever logger it came from)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in logcontext.current().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def masked(text: str) -> str:
    """Addresses keep their domain only: `***@hopital-c.mssante.test` (a patient's local
    part is their INS, a professional's their name)."""
    return ADDRESS.sub(r"***@\1", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, process, the context
    fields present, the request line's fields, and an exception's type and frames."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": masked(record.getMessage()),
            "process": record.process,
        }
        for name in (*logcontext.FIELDS, *EXTRA_FIELDS):
            if (value := getattr(record, name, None)) is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, trace = record.exc_info
            entry["exception"] = f"{kind.__module__}.{kind.__qualname__}"
            entry["stack"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(trace)[-8:]
            ]
        return json.dumps(entry, ensure_ascii=False, default=str)
