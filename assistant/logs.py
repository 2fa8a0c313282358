"""The one logging setup. Log lines name events and ids, never message text or health data.

With `CARELOOP_LOG_FORMAT=json` each line is one JSON object (`at`, `level`, `logger`,
`message`, and `trace`: the web request's or Telegram update's id, to follow one message
through a service's lines)."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Libraries that would log request bodies or URLs with the bot token stay quiet, and so
# do those that log routine steps (alembic's "Running upgrade ...").
QUIET = ("httpx", "httpcore", "telegram", "apscheduler", "sanic", "sqlalchemy", "alembic")
NETWORK_ERRORS = ("NetworkError", "TimedOut", "TransportError", "TimeoutException")


class OneLineNetworkErrors(logging.Filter):
    """A library's network failure (Telegram unreachable, a timeout) is expected and
    retried: one line naming it, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if (error is not None and record.name.split(".")[0] in QUIET
                and any(kind.__name__ in NETWORK_ERRORS for kind in type(error).__mro__)):
            record.msg, record.args = f"{record.getMessage()} ({type(error).__name__})", None
            record.exc_info, record.exc_text = None, None
        return True


# What this task is handling: "req-…" (a console or API request), "update-…" (Telegram).
trace: ContextVar[str | None] = ContextVar("trace", default=None)


class JsonLines(logging.Formatter):
    """One JSON object per line, for a log collector."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage(), "trace": trace.get()}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str, log_file: Path | None = None, *, json_lines: bool = False) -> None:
    """Log lines at `level` (the settings' log_level) to stderr, or to `log_file` (the
    demo's terminal is a chat); JSON lines when `json_lines` (the settings' log_format)."""
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=level, format=FORMAT, force=True,
                        filename=log_file)
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLineNetworkErrors())
        if json_lines:
            handler.setFormatter(JsonLines())
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
