"""The outbox delivered to Telegram: run by the scheduler process with the bridge's sender."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from assistant.channels.telegram.sender import TelegramSender
from assistant.config import Settings
from assistant.services import outbox

CHANNEL = "telegram"


async def drain_to_telegram(settings: Settings, stop: asyncio.Event) -> None:
    sender = TelegramSender.from_settings(settings)
    async with sender.bot:
        await outbox.drain(sender.send, channel=CHANNEL, stop=stop,
                           lease=timedelta(seconds=settings.outbox_lease_seconds))
