"""Talking to the Rasa server's REST channel with httpx.

The conversation id is the patient's opaque `chat_ref`, never a Telegram id. Any
failure (down, slow, bad answer) becomes `RasaUnavailable`, raised `from` the cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


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
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def send(self, conversation_id: str, text: str) -> list[Reply]:
        try:
            response = await self._client.post(
                "/webhooks/rest/webhook", json={"sender": conversation_id, "message": text})
            response.raise_for_status()
            return parse_replies(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__) from exc

    async def ready(self) -> bool:
        try:
            response = await self._client.get("/")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        await self._client.aclose()
