"""A local Telegram Bot API emulator for the tests, driven by the real python-telegram-bot.

A Starlette app served by uvicorn in a thread on 127.0.0.1 (a free port); PTB reaches
it through `base_url=emulator.base_url` (and `base_file_url`). It answers
`/bot<token>/<method>` (GET or POST, form or JSON) with Bot API-shaped JSON for
getMe, getUpdates (long polling, offsets, allowed_updates), sendMessage,
editMessageText, editMessageReplyMarkup, answerCallbackQuery, setMyCommands,
getMyCommands, sendChatAction, setWebhook, deleteWebhook, getWebhookInfo, close and
logOut, and checks what Telegram checks (text length, callback data size, a message
to edit that exists and changes, a callback query answered once).

A test talks to it through:

* updates: `inject_text`, `inject_command`, `inject_callback`, `inject_sticker`,
  `inject_photo`, `inject_voice`, `inject_document`, `inject_edited_message`,
  `inject_blocked` (the user blocks the bot);
* what the bot did: `sent(chat_id=None)` (also a list: `len(emulator.sent)`),
  `wait_for_sent`, `wait_for(chat_id, count)`, `edits`, `answered`, `unanswered()`,
  `commands`, `calls`, `webhook`;
* Telegram's limits: `limit_per_second` per bot (default 30) and `chat_interval`
  between messages to one chat (default 1 s); beyond them `sendMessage` answers 429
  with `parameters.retry_after`, counted in `too_many_requests`;
* faults: `fail_next(method, status, retry_after=, times=)` (429, 5xx, 403, 400),
  `delay_next(method, seconds)` (for client timeouts; the request is then served, as a
  real send that timed out may have arrived), `block_chat(chat_id)` (403 "bot was
  blocked by the user").
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BOT_ID = 777000
BOT_USERNAME = "CareLoopTestBot"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_POLL_SECONDS = 1.0  # long polls are cut short so that tests stop quickly
BLOCKED = "Forbidden: bot was blocked by the user"
T = TypeVar("T")

_DESCRIPTIONS = {400: "Bad Request", 403: BLOCKED, 404: "Not Found", 409: "Conflict",
                 429: "Too Many Requests", 500: "Internal Server Error",
                 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def response(self) -> Response:
        if self.status in (502, 504):  # what the proxy in front of the Bot API returns
            return Response(f"<html><body><h1>{self.status} {self.description}</h1></body>"
                            "</html>", self.status, media_type="text/html")
        body: dict[str, Any] = {"ok": False, "error_code": self.status,
                                "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, self.status)


@dataclass
class Fault:
    status: int
    description: str
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class Sent:
    """A message the bot sent (its text and buttons as they are now, after edits)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    at: float  # time.time() when Telegram accepted it
    edited: int = 0

    @property
    def time(self) -> float:
        return self.at

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback data) of every inline button, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def as_message(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_id": self.message_id, "date": int(self.at), "text": self.text,
            "chat": {"id": self.chat_id, "type": "private" if self.chat_id > 0 else "group"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "CareLoop",
                     "username": BOT_USERNAME}}
        if self.edited:
            result["edit_date"] = int(time.time())
        if self.reply_markup and self.reply_markup.get("inline_keyboard"):
            result["reply_markup"] = self.reply_markup
        return result


class SentLog(list[Sent]):
    """The messages the bot sent, oldest first: a list, and callable to filter by chat."""

    def __call__(self, chat_id: int | str | None = None) -> list[Sent]:
        return [m for m in list(self) if chat_id is None or m.chat_id == int(chat_id)]


@dataclass
class Emulator:
    token: str
    limit_per_second: float | None = 30.0  # per bot; None: no limit
    chat_interval: float | None = 1.0      # seconds between messages to one chat; None: none
    sent: SentLog = field(default_factory=SentLog)
    edits: list[dict[str, Any]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)  # url, secret_token, ... when set
    too_many_requests: int = 0  # 429s provoked by going over the limits
    calls: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._faults: dict[str, deque[Fault]] = {}
        self._blocked: set[int] = set()
        self._recent: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._callbacks: set[str] = set()
        self._allowed: list[str] | None = None
        self.closing = False
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- updates a test injects ----------------------------------------------------------

    def _push(self, kind: str, payload: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, kind: payload})
        return update_id

    @staticmethod
    def _user(chat_id: int, user: dict[str, Any] | int | None) -> dict[str, Any]:
        if isinstance(user, dict):
            return {"is_bot": False, "first_name": "Pat", **user}
        return {"id": user if isinstance(user, int) else abs(chat_id), "is_bot": False,
                "first_name": "Pat", "language_code": "en"}

    def _message(self, chat_id: int, user: dict[str, Any] | int | None, chat_type: str,
                 **fields: Any) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": "Pat"} if chat_type == "private" else {"title": "A group"})
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": self._user(chat_id, user), **fields}

    def inject_text(self, chat_id: int, text: str, *, user: dict[str, Any] | int | None = None,
                    chat_type: str = "private") -> int:
        """A text message from the user (a command when it starts with '/'); its id."""
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0,
                                   "length": len(command.encode("utf-16-le")) // 2}]
        message = self._message(chat_id, user, chat_type, **fields)
        self._push("message", message)
        return int(message["message_id"])

    def inject_command(self, chat_id: int, command: str, *args: str,
                       user: dict[str, Any] | int | None = None,
                       chat_type: str = "private") -> int:
        """`/command arg ...` (the slash is optional)."""
        text = " ".join(["/" + command.lstrip("/"), *args])
        return self.inject_text(chat_id, text, user=user, chat_type=chat_type)

    def inject_edited_message(self, chat_id: int, text: str,
                              user: dict[str, Any] | int | None = None) -> None:
        self._push("edited_message", self._message(chat_id, user, "private", text=text,
                                                   edit_date=int(time.time())))

    inject_edited = inject_edited_message

    def inject_sticker(self, chat_id: int) -> None:
        self._push("message", self._message(chat_id, None, "private", sticker={
            "file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}))

    def inject_photo(self, chat_id: int, caption: str | None = None) -> None:
        fields: dict[str, Any] = {"photo": [{"file_id": "p1", "file_unique_id": "p1",
                                             "width": 90, "height": 90}]}
        if caption:
            fields["caption"] = caption
        self._push("message", self._message(chat_id, None, "private", **fields))

    def inject_voice(self, chat_id: int) -> None:
        self._push("message", self._message(chat_id, None, "private", voice={
            "file_id": "v1", "file_unique_id": "v1", "duration": 3, "mime_type": "audio/ogg"}))

    def inject_document(self, chat_id: int, file_name: str = "scan.pdf") -> None:
        self._push("message", self._message(chat_id, None, "private", document={
            "file_id": "d1", "file_unique_id": "d1", "file_name": file_name,
            "mime_type": "application/pdf"}))

    def inject_callback(self, chat_id: int, message: Sent | int, data: str, *,
                        user: dict[str, Any] | int | None = None) -> str:
        """The user presses a button of a message the bot sent (a `Sent` or its id) and the
        client sends `data`; the callback query id."""
        if isinstance(message, int):
            message = next(m for m in self.sent if m.message_id == message)
        query_id = f"cb{next(self._callback_ids)}"
        with self._lock:
            self._callbacks.add(query_id)
        self._push("callback_query", {
            "id": query_id, "chat_instance": f"ci{chat_id}", "data": data,
            "from": self._user(chat_id, user), "message": message.as_message()})
        return query_id

    def inject_blocked(self, chat_id: int) -> None:
        """The user blocks the bot: Telegram sends `my_chat_member` and refuses messages."""
        self._blocked.add(chat_id)
        user = self._user(chat_id, None)
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "CareLoop", "username": BOT_USERNAME}
        self._push("my_chat_member", {
            "chat": {"id": chat_id, "type": "private", "first_name": "Pat"}, "from": user,
            "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0}})

    # --- scripted faults -----------------------------------------------------------------

    def fail_next(self, method: str, status: int, times: int = 1, retry_after: int | None = None,
                  description: str = "") -> None:
        """The next `times` calls of `method` fail with `status` (429 gets a retry_after)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or _DESCRIPTIONS.get(status, f"Error {status}")
        if status == 429 and not description:
            text = f"Too Many Requests: retry after {retry_after}"
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            queue.extend(Fault(status, text, retry_after) for _ in range(times))

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` are answered (normally) after `seconds`."""
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            queue.extend(Fault(200, "", delay=seconds) for _ in range(times))

    def block_chat(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    # --- what the bot did ----------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[Sent]:
        return self.sent(chat_id)

    def unanswered(self) -> set[str]:
        """Callback queries the bot has not answered (yet)."""
        with self._lock:
            return self._callbacks - set(self.answered)

    def wait_until(self, check: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
        """Poll `check` until it returns something truthy; that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
            time.sleep(0.02)

    def wait_for_sent(self, count: int = 1, timeout: float = 10.0,
                      chat_id: int | None = None) -> list[Sent]:
        """The first `count` messages sent (to `chat_id`, or to anyone), waiting for them."""
        try:
            return self.wait_until(lambda: len(self.sent(chat_id)) >= count and
                                   self.sent(chat_id), timeout)
        except AssertionError:
            texts = [m.text[:80] for m in self.sent(chat_id)]
            raise AssertionError(f"{len(texts)} of {count} messages arrived"
                                 f"{f' for chat {chat_id}' if chat_id else ''}: {texts}") from None

    def wait_for(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[Sent]:
        """The first `count` messages the bot sent to the chat, waiting for them."""
        return self.wait_for_sent(count, timeout, chat_id=chat_id)

    def wait_for_edits(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        return self.wait_until(lambda: len(self.edits) >= count and list(self.edits), timeout,
                               f"{count} edits")

    def wait_for_answers(self, count: int, timeout: float = 10.0) -> list[str]:
        return self.wait_until(lambda: len(self.answered) >= count and list(self.answered),
                               timeout, f"{count} answered callback queries")

    # --- the Bot API ---------------------------------------------------------------------

    def _fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            return queue.popleft() if queue else None

    def _check_limits(self, chat_id: int) -> None:
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            over_bot = (self.limit_per_second is not None
                        and len(self._recent) >= self.limit_per_second * 1.05)
            last = self._chat_last.get(chat_id)
            over_chat = (self.chat_interval is not None and last is not None
                         and now - last < self.chat_interval * 0.9)
            if over_bot or over_chat:
                self.too_many_requests += 1
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            self._recent.append(now)
            self._chat_last[chat_id] = now

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        markup = json.loads(markup) if isinstance(markup, str) and markup else markup
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the "
                                        "inline keyboard")
                data = button.get("callback_data", "")
                if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if not markup or markup.get("inline_keyboard") == []:
            return None  # no buttons: what Telegram shows for an empty keyboard too
        return dict(markup)

    @staticmethod
    def _text(params: dict[str, Any]) -> str:
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat_id = int(params["chat_id"])
        text, markup = self._text(params), self._markup(params)
        if chat_id in self._blocked:
            raise ApiError(403, BLOCKED)
        self._check_limits(chat_id)
        sent = Sent(chat_id, next(self._message_ids), text, markup, time.time())
        with self._lock:
            self.sent.append(sent)
        return sent.as_message()

    def _edit(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(params.get("chat_id", 0)), int(params.get("message_id", 0))
        found = [m for m in self.sent if m.chat_id == chat_id and m.message_id == message_id]
        if not found:
            raise ApiError(400, "Bad Request: message to edit not found")
        message = found[0]
        text = self._text(params) if method == "editMessageText" else message.text
        markup = self._markup(params)
        if text == message.text and (markup or None) == (message.reply_markup or None):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        with self._lock:
            message.text, message.reply_markup = text, markup
            message.edited += 1
            self.edits.append(params)
        return message.as_message()

    async def _updates_for(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed = json.loads(allowed) if isinstance(allowed, str) else list(allowed)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_POLL_SECONDS)
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._allowed:  # updates of other kinds are never delivered
                    self._updates = [u for u in self._updates
                                     if any(kind in u for kind in self._allowed)]
                ready = self._updates[:limit]
            if ready or self.closing or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.01)

    async def handle(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != self.token:
            return ApiError(401, "Unauthorized").response()
        params = await _params(request)
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
        try:
            fault = self._fault(method)
            if fault and fault.delay:
                await asyncio.sleep(fault.delay)
            elif fault:
                raise ApiError(fault.status, fault.description, fault.retry_after)
            result = await self._answer(method, params)
        except ApiError as error:
            return error.response()
        return JSONResponse({"ok": True, "result": result})

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "CareLoop",
                    "username": BOT_USERNAME, "can_join_groups": False,
                    "can_read_all_group_messages": False, "supports_inline_queries": False}
        if method == "getUpdates":
            return await self._updates_for(params)
        if method == "sendMessage":
            return self._send(params)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._edit(method, params)
        if method == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id"))
            with self._lock:
                if query_id not in self._callbacks or query_id in self.answered:
                    raise ApiError(400, "Bad Request: query is too old and response timeout "
                                        "expired or query ID is invalid")
                self.answered.append(query_id)
            return True
        if method == "setMyCommands":
            commands = params.get("commands")
            self.commands = json.loads(commands) if isinstance(commands, str) else commands
            return True
        if method == "getMyCommands":
            return self.commands
        if method == "sendChatAction":
            return True
        if method == "setWebhook":
            self.webhook = {key: value for key, value in params.items()
                            if key in ("url", "secret_token", "allowed_updates",
                                       "max_connections", "drop_pending_updates")}
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                with self._lock:
                    self._updates.clear()
            return True
        if method == "getWebhookInfo":
            with self._lock:
                pending = len(self._updates)
            return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": pending}
        if method in ("close", "logOut", "deleteMyCommands"):
            return True
        raise ApiError(404, "Not Found")


async def _params(request: Request) -> dict[str, Any]:
    query = dict(parse_qsl(request.url.query))
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        return {**query, **(json.loads(body) if body else {})}
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        return {**query, **{key: value for key, value in form.items() if isinstance(value, str)}}
    # PTB posts its parameters URL-encoded (objects such as reply_markup as JSON text).
    return {**query, **dict(parse_qsl(body.decode(), keep_blank_values=True))}


class Server:
    """The emulator served on a free loopback port, in a thread: `with Server(e) as e:`."""

    def __init__(self, emulator: Emulator) -> None:
        app = Starlette(routes=[Route("/bot{token}/{method}", emulator.handle,
                                      methods=["GET", "POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning", lifespan="off",
                                                    timeout_graceful_shutdown=2))
        self.emulator = emulator
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Emulator:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the Bot API emulator did not start")
            time.sleep(0.01)
        self.emulator.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self.emulator

    def __exit__(self, *exc: object) -> None:
        self.emulator.closing = True  # long polls answer at once
        self.server.should_exit = True
        self.thread.join(timeout=10)
