"""The channels CareLoop serves, and which of them the settings turn on: the one place
that names them all.

Adding a channel: its package under `assistant/channels/` (a class that implements
`base.Channel`), its settings in `assistant/config.py`, and one line in `CHANNELS`. The
console is not here: it is the demo's terminal, served in the foreground by the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.channels.base import Channel
from assistant.channels.telegram.channel import TelegramChannel
from assistant.config import Settings


@dataclass(frozen=True)
class Entry:
    make: Callable[[Settings], Channel]
    enabled: Callable[[Settings], bool]  # the settings it needs to run are there


# In order of preference for enrolment links.
CHANNELS: list[Entry] = [
    Entry(TelegramChannel, lambda settings: settings.telegram_enabled),
]


def enabled(settings: Settings) -> list[Channel]:
    """The channels `careloop run` serves (the "bridge" service) and whose outbox the
    scheduler drains."""
    return [entry.make(settings) for entry in CHANNELS if entry.enabled(settings)]


def enrolment_link(settings: Settings, code: str) -> str | None:
    """The link that opens a chat with `code`: the first enabled channel's that has one,
    else the first channel's that has one (a Telegram link needs only the bot's name, so
    the console and the CLI print it without the bot's token)."""
    entries = sorted(CHANNELS, key=lambda entry: not entry.enabled(settings))
    for entry in entries:
        link = entry.make(settings).deep_link(code)
        if link:
            return link
    return None
