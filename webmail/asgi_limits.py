"""How many requests the events server starts at once (webmail/asgi.py).

Each request's synchronous part (session, authentication, the access check) runs in a thread
of its own with a database connection of its own, released once its stream is under way
(webmail/push.py). A hundred tabs connecting in the same second (a load test, or every tab
coming back after the events server restarts) asked PostgreSQL for a hundred connections at
once, beyond its default max_connections: "too many clients already", streams answered 500.
So at most WEBMAIL_EVENTS_STARTING requests are between their first message and their
response's start; the others wait their turn, a few milliseconds each, then stream without
holding anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class LimitStarts:
    def __init__(self, app: App, starting: int) -> None:
        self.app, self.starting = app, starting
        self.gate: asyncio.Semaphore | None = None  # made in the server's own event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.gate is None:
            self.gate = asyncio.Semaphore(self.starting)
        gate = self.gate
        await gate.acquire()
        held = True

        async def started(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                gate.release()
            await send(message)

        try:
            await self.app(scope, receive, started)
        finally:
            if held:
                gate.release()
