"""Talking to the Rasa servers' REST channel with httpx.

The conversation id is the patient's opaque `chat_ref`, never a Telegram id. Any
failure (down, slow, bad answer) becomes `RasaUnavailable`, raised `from` the cause.
Each message carries the current trace id (`assistant.logs.trace`) as its metadata: the
action server logs under it.

Several Rasa servers (sharing one tracker store and one lock store) share the
conversations: each goes to its own server, chosen by rendezvous hashing of its id, so
that a server removed moves only its own conversations. A server that is down (the
connection refused, or not accepted in time) is passed over for the next one in that
conversation's order, and tried again only `DEAD_SECONDS` later.

While the Rasa servers start (about 30 s to load the model, the port closed until then)
a message is held, up to `hold_seconds` from the start of the outage, and sent as soon
as one of them answers; an outage longer than that is answered at once, until a server
is back. A slow or failing server is never held for.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from assistant.logs import trace

OnHold = Callable[[], Awaitable[None]]
PROBE_SECONDS = 0.5  # how often a held message looks whether Rasa is up
ON_HOLD_EVERY = 4.0  # Telegram shows "typing" for 5 s: repeat just before it ends
DEAD_SECONDS = 10.0  # a server found down is tried again after this long
CONNECT_SECONDS = 2.0  # a server that has not accepted the connection by then is down


def rendezvous(key: str, servers: Sequence[str]) -> list[str]:
    """`servers` in `key`'s order, highest random weight first: the same key always goes
    to the same server, and a server removed takes along only the keys it was first for."""
    def weight(server: str) -> bytes:
        return hashlib.blake2b(f"{server}\n{key}".encode(), digest_size=8).digest()
    return sorted(servers, key=weight, reverse=True)


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
    def __init__(self, servers: str | Sequence[str], timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None, *,
                 hold_seconds: float = 0.0) -> None:
        limits = httpx.Timeout(timeout, connect=min(timeout, CONNECT_SECONDS))
        self._clients = {url: httpx.AsyncClient(base_url=url, timeout=limits, transport=transport)
                         for url in ([servers] if isinstance(servers, str) else servers)}
        if not self._clients:
            raise ValueError("no Rasa server to talk to")
        self._dead_until: dict[str, float] = {}  # monotonic time to try a down server again
        self.hold_seconds = hold_seconds
        self._down_since: float | None = None  # monotonic time every server was found down
        self._released = asyncio.Event()

    def route(self, conversation_id: str) -> list[str]:
        """The servers to try for this conversation in turn: its own first, those found
        down lately last."""
        now = time.monotonic()
        return sorted(rendezvous(conversation_id, list(self._clients)),
                      key=lambda url: self._dead_until.get(url, 0.0) > now)

    async def send(self, conversation_id: str, text: str,
                   on_hold: OnHold | None = None) -> list[Reply]:
        """Rasa's answers; `on_hold` is awaited now and then while the message is held."""
        body: dict[str, Any] = {"sender": conversation_id, "message": text}
        if (trace_id := trace.get()) is not None:
            body["metadata"] = {"trace_id": trace_id}
        while True:
            for url in self.route(conversation_id):
                try:
                    replies = await self._post(url, body)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    # Down, or still starting: the message never reached it.
                    self._dead_until[url] = time.monotonic() + DEAD_SECONDS
                    down = exc
                    continue
                self._dead_until.pop(url, None)
                self._down_since = None
                return replies
            if not await self._hold(on_hold):
                raise RasaUnavailable(type(down).__name__) from down

    async def _post(self, url: str, body: dict[str, Any]) -> list[Reply]:
        try:
            response = await self._clients[url].post("/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            return parse_replies(response.json())
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except (httpx.HTTPError, ValueError) as exc:
            # Never sent on to another server: this one may have handled the message
            # (the conversation moved on, a dose recorded) before it failed or timed out.
            raise RasaUnavailable(type(exc).__name__) from exc

    async def _hold(self, on_hold: OnHold | None) -> bool:
        """Wait for a Rasa server to come up, within the hold of this outage; whether
        one did."""
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
        """Whether at least one Rasa server answers."""
        return any(await asyncio.gather(*map(_answers, self._clients.values())))

    async def aclose(self) -> None:
        self.release()
        for client in self._clients.values():
            await client.aclose()


async def _answers(client: httpx.AsyncClient) -> bool:
    try:
        response = await client.get("/")
    except httpx.HTTPError:
        return False
    return response.status_code == 200
