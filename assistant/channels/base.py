"""The one small protocol every channel implements (Telegram, the console, the next one).

A channel carries patients' chats; what to say is the flow's business (`flow.py`), never
the channel's. What CareLoop asks of a channel:

    name              "telegram", "console": stored as the chat link's and the outbox
                      row's `channel`, so it never changes once patients are linked
    send(chat_id, text, buttons, recorded=None) -> message id
                      one message, with rows of buttons ({"text", "data"}) the patient
                      can press; raises the outbox's `Unreachable` when the chat is gone
                      for good (blocked, deleted) and `RetryLater` for a passing failure;
                      the outbox's `recorded(message id)`, when given, is awaited before
                      another outbox message leaves (else the outbox calls it after)
    deep_link(code)   a link that opens the chat with an enrolment code filled in, or
                      None when the channel has none
    serve(stop)       receive what patients write, until `stop` (Telegram: long polling
                      or its webhook; the console: the terminal), and hand each message,
                      button press and command to a `flow.Flow`
    drain(stop)       deliver the outbox of this channel's chats until `stop`; the
                      scheduler process runs it (`drain_outbox` does the work: a channel
                      only opens what `send` needs around it)

A button's `data` comes back as it was sent when pressed: `dose:…`, `consent:…` and
`r:…` (see `flow.py`). Message ids are the channel's own, kept in the outbox row.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Protocol

from assistant.config import Settings
from assistant.services import outbox
from assistant.services.outbox import Buttons, Recorded


class Channel(Protocol):
    """A way patients chat with CareLoop; see the module docstring."""

    name: str

    async def send(self, chat_id: str, text: str, buttons: Buttons, *,
                   recorded: Recorded | None = None) -> int: ...

    def deep_link(self, code: str) -> str | None: ...

    async def serve(self, stop: asyncio.Event) -> None: ...

    async def drain(self, stop: asyncio.Event) -> None: ...


async def drain_outbox(channel: Channel, settings: Settings, stop: asyncio.Event) -> None:
    """Deliver the outbox of `channel`'s chats with its `send` until `stop`."""
    await outbox.drain(channel.send, channel=channel.name, stop=stop,
                       lease=timedelta(seconds=settings.outbox_lease_seconds))
