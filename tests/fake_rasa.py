"""A tiny stand-in for the Rasa server's REST channel, for tests of the Telegram side that
need answers without the real engine (the real-Rasa tests use the `rasa_stack` fixture).

It records what it was sent and answers with `reply(sender, message)` (by default an
echo), after `delay` seconds when a test wants a slow engine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

Answer = list[dict[str, Any]]


def echo(sender: str, message: str) -> Answer:
    return [{"recipient_id": sender, "text": f"You said: {message}"}]


@dataclass
class FakeRasa:
    reply: Callable[[str, str], Answer] = echo
    delay: float = 0.0
    received: list[tuple[str, str]] = field(default_factory=list)  # (sender, message)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        sender, message = str(body.get("sender")), str(body.get("message"))
        self.received.append((sender, message))
        if self.delay:
            await asyncio.sleep(self.delay)
        return JSONResponse(self.reply(sender, message))

    async def root(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("Hello from Rasa: 3.6.21")

    def serve(self) -> _Serving:
        return _Serving(self)


class _Serving:
    def __init__(self, fake: FakeRasa) -> None:
        app = Starlette(routes=[Route("/webhooks/rest/webhook", fake.webhook, methods=["POST"]),
                                Route("/", fake.root)])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning", lifespan="off",
                                                    timeout_graceful_shutdown=1))
        self.fake = fake
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeRasa:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake Rasa server did not start")
            time.sleep(0.01)
        self.fake.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
