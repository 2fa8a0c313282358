"""Telegram behind the `Channel` protocol: sending through the one `TelegramSender`,
enrolment deep links (`t.me/<bot>?start=CODE`), serving the bridge and draining the
outbox. Settings: `CARELOOP_TELEGRAM_*` and `CARELOOP_WEBHOOK_*` (assistant/config.py).
"""

from __future__ import annotations

import asyncio
import itertools

from assistant.channels.base import drain_outbox
from assistant.channels.flow import Flow
from assistant.channels.telegram import bridge
from assistant.channels.telegram.sender import TelegramSender
from assistant.config import Settings
from assistant.conversation.rasa_client import RasaClient
from assistant.services.outbox import Buttons, Recorded

MAX_DATA = 64  # bytes of a button's callback data Telegram keeps
KEY = "k:"  # longer data is sent as a short key to it
KEYS_KEPT = 10_000


class TelegramChannel:
    """One bot. It either serves the bridge or drains the outbox (one process each): both
    open and close the same bot."""

    name = "telegram"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sender: TelegramSender | None = None
        self._keys: dict[str, str] = {}  # short key → the long button data it stands for
        self._key_numbers = itertools.count()

    @property
    def sender(self) -> TelegramSender:
        """Made when first needed: only sending needs the bot's token, a link does not."""
        if self._sender is None:
            self._sender = TelegramSender.from_settings(self.settings)
        return self._sender

    async def send(self, chat_id: str, text: str, buttons: Buttons, *,
                   recorded: Recorded | None = None) -> int:
        rows = [[{**b, "data": self._short(b["data"])} for b in row] for row in buttons]
        return await self.sender.send(chat_id, text, rows, recorded=recorded)

    def _short(self, data: str) -> str:
        if len(data.encode()) <= MAX_DATA:
            return data
        key = f"{KEY}{next(self._key_numbers) % KEYS_KEPT}"
        self._keys[key] = data
        return key

    def button_data(self, data: str) -> str:
        """A pressed button's data as it was sent ("" for a key this bot no longer has)."""
        return self._keys.get(data, "") if data.startswith(KEY) else data

    def deep_link(self, code: str) -> str:
        return f"https://t.me/{self.settings.telegram_bot_username}?start={code}"

    async def serve(self, stop: asyncio.Event) -> None:
        settings = self.settings
        rasa = RasaClient(settings.rasa_servers, settings.rasa_timeout_seconds,
                          hold_seconds=settings.rasa_hold_seconds)
        flow = Flow(self, rasa, snooze_minutes=settings.snooze_minutes)
        bot = self.sender.bot
        application = bridge.build_application(bot, bridge.Bridge(flow, bot, self.button_data))
        try:
            await bridge.run(application, settings, stop, release=rasa.release)
        finally:
            await rasa.aclose()

    async def drain(self, stop: asyncio.Event) -> None:
        async with self.sender.bot:
            await drain_outbox(self, self.settings, stop)
