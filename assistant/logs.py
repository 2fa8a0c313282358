"""The one logging setup. Log lines name events and ids, never message text or health data."""

from __future__ import annotations

import logging

from assistant.settings import Settings

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format=FORMAT, force=True)
    # Libraries that would log request bodies or URLs with the bot token stay quiet.
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler", "sanic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
