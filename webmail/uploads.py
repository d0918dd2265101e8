"""Attachments: how large they may be, and an upload handler that refuses early.

The operator's submission server announces SIZE (RFC 1870) for the whole message as sent:
attachments travel in base64 (4 bytes for 3, a CRLF every 76 characters: RFC 2045 6.8) next to
the headers and the text. The limit below is what fits, so what the form accepts the operator
accepts; the view still checks the message it built against SIZE before queuing it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from mailboxes.actions import outbox

LINE = 76  # base64 characters per line (RFC 2045 6.8), then CRLF
HEADROOM = 64 * 1024  # the message's headers, its text part and each attachment's headers
FORM_SLACK = 64 * 1024  # multipart boundaries and part headers around the form's fields
REFUSED = "webmail_upload_refused"


def encoded_size(length: int) -> int:
    """Bytes that `length` bytes take in base64 with a CRLF every 76 characters."""
    chars = 4 * ((length + 2) // 3)
    return chars + 2 * ((chars + LINE - 1) // LINE)


def attachment_limit(size: int) -> int:
    """The most attachment bytes a message of at most `size` bytes can carry."""
    room = max(size - HEADROOM, 0)
    length = room * 3 // 4 * LINE // (LINE + 2)  # within a few bytes of the answer
    while encoded_size(length + 1) <= room:
        length += 1
    while length and encoded_size(length) > room:
        length -= 1
    return length


def upload_limit() -> int:
    """The cap on a message's attachments: the operator's SIZE headroom, and ours."""
    server = outbox.size_limit()
    ours = settings.WEBMAIL_MAX_UPLOAD_BYTES
    return min(ours, attachment_limit(server)) if server else ours


def refused(request: HttpRequest) -> bool:
    """Whether CappedUploadHandler refused this request's files (none of them was kept)."""
    return bool(getattr(request, REFUSED, False))


class CappedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS. Files go on to a temporary file (the next handler), never
    to memory, and stop as soon as they cannot be sent: at the first file when the request's
    Content-Length is already beyond the cap plus the form's fields, else when the bytes
    received pass it. The rest of the body is not read; the fields before the files (what
    was typed) are kept, and the view says why the files were dropped."""

    request_length: int = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.request_length = content_length  # (self.content_length is the file's)
        self.cap: int | None = None  # asked of the operator only when a file comes
        self.received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.cap is None:
            self.cap = upload_limit()
        fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        if self.request_length > self.cap + fields + FORM_SLACK:
            self.refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.cap is not None and self.received > self.cap:
            self.refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the temporary file handler after this one makes the file

    def refuse(self) -> None:
        setattr(self.request, REFUSED, True)
        raise StopUpload(connection_reset=True)  # read no more of the body
