"""Talking to the Rasa server's REST channel with httpx.

The conversation id is the patient's opaque `chat_ref`, never a Telegram id. Any
failure (down, slow, bad answer) becomes `RasaUnavailable`, raised `from` the cause.

While the Rasa server starts (about 30 s to load its model, its port closed until then)
a message is held, up to `hold_seconds` from the start of the outage, and sent as soon
as the server answers; an outage longer than that is answered at once, until Rasa is
back. A slow or failing server is never held for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

OnHold = Callable[[], Awaitable[None]]
PROBE_SECONDS = 0.5  # how often a held message looks whether Rasa is up
ON_HOLD_EVERY = 4.0  # Telegram shows "typing" for 5 s: repeat just before it ends


class RasaUnavailable(RuntimeError):
    """The Rasa server or its action server did not answer in time."""


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)  # {"title", "payload"}


def parse_replies(body: Any) -> list[Reply]:
    if not isinstance(body, list):
        raise RasaUnavailable("unexpected answer from the Rasa REST channel")
    replies = []
    for item in body:
        if not isinstance(item, dict):
            continue
        buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                   for b in item.get("buttons") or [] if isinstance(b, dict)]
        text = str(item.get("text") or "")
        if text or buttons:
            replies.append(Reply(text, buttons))
    return replies


class RasaClient:
    def __init__(self, base_url: str, timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None, *,
                 hold_seconds: float = 0.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self.hold_seconds = hold_seconds
        self._down_since: float | None = None  # monotonic time Rasa was first found down
        self._released = asyncio.Event()

    async def send(self, conversation_id: str, text: str,
                   on_hold: OnHold | None = None) -> list[Reply]:
        """Rasa's answers; `on_hold` is awaited now and then while the message is held."""
        while True:
            try:
                response = await self._client.post(
                    "/webhooks/rest/webhook", json={"sender": conversation_id, "message": text})
                response.raise_for_status()
                replies = parse_replies(response.json())
            except httpx.ConnectError as exc:  # nothing listens: down, or still starting
                if not await self._hold(on_hold):
                    raise RasaUnavailable(type(exc).__name__) from exc
                continue
            except (httpx.HTTPError, ValueError) as exc:
                raise RasaUnavailable(type(exc).__name__) from exc
            self._down_since = None
            return replies

    async def _hold(self, on_hold: OnHold | None) -> bool:
        """Wait for Rasa to come up, within the hold of this outage; whether it did."""
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        deadline = self._down_since + self.hold_seconds
        next_notice = now
        while not self._released.is_set() and time.monotonic() < deadline:
            if on_hold is not None and time.monotonic() >= next_notice:
                next_notice = time.monotonic() + ON_HOLD_EVERY
                await on_hold()
            if await self.ready():
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(),
                                       max(0.0, min(PROBE_SECONDS, deadline - time.monotonic())))
        return False

    def release(self) -> None:
        """Stop holding: held and new messages get their answer (the fallback) at once."""
        self._released.set()

    async def ready(self) -> bool:
        try:
            response = await self._client.get("/")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        self.release()
        await self._client.aclose()
