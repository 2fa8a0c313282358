"""A round-robin load balancer in front of webhook bridges (`careloop run --only bridge`
with `CARELOOP_WEBHOOK_URL`), served in a thread of the test: for
tests/integration/test_telegram_webhook.py and tests/integration/test_scale_out.py."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port

HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Balancer:
    """A round-robin load balancer: each request to the next bridge in turn, whatever
    became of the one before (a dead bridge's turn is a 502)."""

    backends: list[str]
    seen: list[tuple[int, int | None, int]] = field(default_factory=list)  # bridge, update, status

    def __post_init__(self) -> None:
        self._turns = itertools.count()
        self.port = free_port()
        app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def forward(self, request: Request) -> Response:
        turn = next(self._turns) % len(self.backends)
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() == HEADER.lower()}
        headers["content-type"] = request.headers.get("content-type", "")
        try:
            async with httpx.AsyncClient(timeout=120) as client:
                answer = await client.request(request.method,
                                              f"{self.backends[turn]}{request.url.path}",
                                              content=body, headers=headers)
            status, content = answer.status_code, answer.content
        except httpx.HTTPError:
            status, content = 502, b""
        update_id = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            update_id = json.loads(body).get("update_id")
        self.seen.append((turn, update_id, status))
        return Response(content, status)

    def bridges_of(self, update_id: int) -> list[tuple[int, int]]:
        """(bridge, status) of each time the update went through."""
        return [(turn, status) for turn, seen, status in self.seen if seen == update_id]

    def __enter__(self) -> Balancer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the load balancer did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
