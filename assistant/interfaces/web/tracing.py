"""Each request gets a trace id for its log lines (`assistant.logs.trace`): the caller's
`X-Request-ID` when it is a plain token (a load balancer's), else a new one; the answer
carries it back in `X-Request-ID`."""

from __future__ import annotations

import re
import secrets

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.logs import trace

PLAIN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Traced:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if PLAIN.fullmatch(given) else f"req-{secrets.token_hex(8)}"
        token = trace.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            trace.reset(token)
