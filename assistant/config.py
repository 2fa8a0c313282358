"""CareLoop's configuration: one `Settings` class read from `CARELOOP_*` variables or `.env`.

Every process reads its settings through `get_settings()`; nothing else looks at the
environment. Invalid values stop start-up with a message naming the variable.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent

TELEGRAM_API_URL = "https://api.telegram.org/bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CARELOOP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    # How long a write waits for a lock another connection holds before it gives up
    # (the web then answers 503 with Retry-After).
    db_busy_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0
    project_dir: Path = PROJECT_DIR

    rasa_url: str = "http://127.0.0.1:5005"
    # Several Rasa servers sharing one tracker store and one lock store (comma-separated);
    # when empty, `rasa_url` alone. Each conversation goes to one of them (RasaClient).
    rasa_urls: str = ""
    rasa_host: str = "127.0.0.1"  # the address `careloop run --only rasa` listens on
    rasa_token: SecretStr = SecretStr("")
    rasa_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 4.0
    # While the Rasa server starts (or restarts), a patient's message waits this long for
    # it, instead of getting "Sorry, I can't answer right now" at once.
    rasa_hold_seconds: Annotated[float, Field(ge=0, le=600)] = 90.0
    rasa_tracker_url: str = ""
    redis_url: str = ""  # Rasa's lock store when several Rasa instances share trackers
    action_port: Annotated[int, Field(ge=1, le=65535)] = 5055
    action_host: str = "127.0.0.1"  # the address the action server listens on
    # Where Rasa calls its action server; http://127.0.0.1:{action_port}/webhook when empty.
    action_url: str = ""
    rasa_engine_dir: Path = PROJECT_DIR / ".venv-rasa"

    telegram_token: SecretStr | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    telegram_bot_username: str = "CareLoopBot"
    telegram_rate_per_second: Annotated[float, Field(gt=0, le=1000)] = 30.0
    telegram_chat_interval_seconds: Annotated[float, Field(ge=0, le=60)] = 1.0
    # Webhook mode when a public HTTPS URL reaches this machine; long polling otherwise.
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_port: Annotated[int, Field(ge=1, le=65535)] = 8443
    # The address the webhook server binds: 0.0.0.0 (or this machine's address) for a load
    # balancer on another machine in front of several bridges.
    webhook_listen: str = "127.0.0.1"
    # A bridge's claim on an update it handles, renewed while it works on it: a bridge that
    # dies leaves it to the retry that comes after this long.
    webhook_lease_seconds: Annotated[float, Field(ge=0.5, le=3600)] = 60.0

    timezone: str = "UTC"
    emergency_number: str = "112"
    crisis_line: str | None = None   # unset: "your local crisis line" in the patient's language
    # Observations older than this are history: stored, charted and baseline, never an
    # alert (DESIGN "Monitoring").
    alert_lookback_hours: Annotated[int, Field(ge=1, le=24 * 365)] = 168

    enrolment_code_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 72
    # Wrong codes from all chats together in an hour before enrolment pauses (guessing
    # from many chats); each chat alone may fail 5 times.
    enrolment_failures_per_hour: Annotated[int, Field(ge=1, le=100_000)] = 100
    grace_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 60
    followup_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    snooze_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    plan_horizon_hours: Annotated[int, Field(ge=1, le=24 * 14)] = 48
    scheduler_tick_seconds: Annotated[float, Field(gt=0, le=300)] = 2.0
    # A worker's claim on an outbox message; after a crash the message is retried then.
    outbox_lease_seconds: Annotated[float, Field(ge=1, le=3600)] = 60.0
    # `--only scheduler` delivers the outbox too; false where `--only sender` processes do.
    scheduler_sends: bool = True

    web_host: str = "127.0.0.1"
    web_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    # Signs console session cookies and keys the hashes of enrolment codes; when unset, one
    # is made once in the data directory (assistant/storage/keys.py).
    secret_key: SecretStr = SecretStr("")
    # A console session ends after this long unused, and this long after login however busy.
    session_minutes: Annotated[int, Field(ge=5, le=7 * 24 * 60)] = 8 * 60
    session_max_hours: Annotated[int, Field(ge=1, le=30 * 24)] = 12
    login_failures_per_hour: Annotated[int, Field(ge=1, le=1000)] = 10
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names
    # the caller; when empty, the caller is whoever connects.
    trusted_proxies: str = ""
    # Set when the console is served over HTTPS (behind a proxy): cookies are Secure then.
    secure_cookies: bool = False
    # Larger request bodies are refused (413) before they are read.
    max_body_bytes: Annotated[int, Field(ge=1024, le=1024**3)] = 1024 * 1024
    # A file of readings uploaded on the patient page (an Apple Health export is hundreds of
    # MB) has its own cap; it is spooled to a temporary file, never held in memory.
    max_upload_bytes: Annotated[int, Field(ge=1024, le=16 * 1024**3)] = 1024**3
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"   # json: one object per line, with a trace id
    # Prometheus: the web app's /metrics answers this bearer token (else only loopback);
    # the scheduler and the bridge answer on these ports when set.
    metrics_token: SecretStr | None = None
    # /readyz says not ready while the oldest due message has waited longer than this.
    outbox_grace_seconds: Annotated[int, Field(ge=1, le=24 * 3600)] = 300
    scheduler_metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    bridge_metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    sender_metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}, e.g. Europe/Berlin") from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return ",".join(items)

    @field_validator("rasa_url", "telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("rasa_urls")
    @classmethod
    def _http_urls(cls, value: str) -> str:
        urls = (http_url(item.strip()) for item in value.split(",") if item.strip())
        return ",".join(dict.fromkeys(urls))  # each server once

    @field_validator("action_url")
    @classmethod
    def _http_url_or_empty(cls, value: str) -> str:
        return http_url(value) if value else value

    @field_validator("rasa_host", "action_host")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address, e.g. 0.0.0.0") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _sqlalchemy_url(cls, value: str) -> str:
        if value and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("must be a sqlite:/// or postgresql:// SQLAlchemy URL")
        return value

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"\d+:[\w-]{20,}", value.get_secret_value()):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        if self.webhook_url and len(self.webhook_secret.get_secret_value()) < 16:
            raise ValueError("CARELOOP_WEBHOOK_SECRET (16+ characters) is required with "
                             "CARELOOP_WEBHOOK_URL, so that only Telegram can post updates")
        return self

    @property
    def db_url(self) -> str:
        """The application database URL; a SQLite file in the data directory by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'careloop.db').resolve()}"

    @property
    def rasa_servers(self) -> list[str]:
        """The Rasa servers the channels talk to."""
        return self.rasa_urls.split(",") if self.rasa_urls else [self.rasa_url]

    @property
    def action_endpoint(self) -> str:
        return self.action_url or f"http://127.0.0.1:{self.action_port}/webhook"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None


def http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


def private_dir(path: Path) -> Path:
    """`path` as a folder, created readable by this user only (0700) when it is new: the
    data directory holds patients' data, the secret key and database passwords."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)  # whatever the umask
    return path


class SettingsError(RuntimeError):
    """Configuration that cannot be used; the message names the variable."""


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CARELOOP_{str(err['loc'][0]).upper()}: {err['msg']}" if err["loc"] else err["msg"]
            for err in exc.errors()
        )
        raise SettingsError(f"invalid configuration: {problems}") from None
