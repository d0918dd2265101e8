"""The events server sets up a bounded number of requests at once (webmail/asgi_limits.py):
a hundred tabs reconnecting together once took a hundred PostgreSQL connections at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from webmail.asgi_limits import LimitStarts


def test_at_most_n_requests_are_set_up_at_once_and_all_then_stream_together() -> None:
    setting_up = streaming = most_setting_up = most_streaming = 0
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal setting_up, streaming, most_setting_up, most_streaming
        setting_up += 1
        most_setting_up = max(most_setting_up, setting_up)
        await asyncio.sleep(0.01)  # the session, the access check: a database connection
        setting_up -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        streaming += 1
        most_streaming = max(most_streaming, streaming)
        await release.wait()  # the stream, holding nothing
        streaming -= 1
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def run() -> None:
        limited = LimitStarts(app, 3)
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request"}

        tabs = [asyncio.create_task(limited({"type": "http"}, receive, send)) for _ in range(20)]
        while most_streaming < 20:
            await asyncio.sleep(0.005)
        release.set()
        await asyncio.gather(*tabs)
        assert len([m for m in sent if m["type"] == "http.response.start"]) == 20

    asyncio.run(asyncio.wait_for(run(), 10))
    assert most_setting_up == 3 and most_streaming == 20


def test_a_request_that_fails_before_answering_gives_its_turn_back() -> None:
    async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("broken")

    async def run() -> None:
        limited = LimitStarts(failing, 1)
        for _ in range(3):  # a turn never given back would block the second call for ever
            with pytest.raises(RuntimeError):  # not a timeout
                await asyncio.wait_for(limited({"type": "http"}, None, None), 1)  # type: ignore[arg-type]

    asyncio.run(run())
