"""A local Telegram Bot API emulator for the tests, driven by the real python-telegram-bot.

A Starlette app served by uvicorn in a thread on 127.0.0.1; PTB reaches it through
`base_url`. It keeps the updates it is told to deliver and the messages the bot
sends, enforces Telegram's limits exactly (per bot per second, per chat) with 429s,
and can be told to fail: `fail_next` (429/5xx/403), `delay_next` (timeouts),
`block_chat`, or to hold a request in flight: `hold_next`; `handed_out` says which
updates the bot has been given.

Once the bot calls setWebhook (with a loopback URL), the updates are no longer handed out
by getUpdates (409, as Telegram does) but posted to that URL with the secret token, each
until it is answered 2xx: again after a non-2xx answer, a refused connection or no answer
within `webhook_timeout`; `deliveries` records each attempt.

The limits count what Telegram's limits are about, messages sent (sendMessage): an
answerCallbackQuery, an edit (editMessageText, editMessageReplyMarkup) or a chat action is
not a message and is let through uncounted (Telegram documents no limit for them), but
recorded with the moment it came (`answered_at`, `edited_at`).
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
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_ID = 777000
BOT_USERNAME = "CareLoopTestBot"


@dataclass
class Fault:
    status: int
    description: str
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class Hold:
    """A request the emulator keeps unanswered, in flight, until `release()`."""

    after: int  # requests of its method (with `text`) let through before it
    text: str   # held only when the request's text contains this
    stall: bool = True  # other requests of its method wait, and are then refused
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    params: dict[str, Any] = field(default_factory=dict)

    def release(self) -> None:
        self.released.set()


@dataclass
class Sent:
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    at: float
    accepted: float = 0.0  # monotonic: the instant the limits let it through

    @property
    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


@dataclass(frozen=True)
class Delivery:
    """One attempt to post an update to the webhook: its HTTP status, or 0 when it got
    no answer (timed out, or the connection was refused)."""

    update_id: int
    status: int
    at: float


LOOPBACK = {"127.0.0.1", "localhost", "::1"}  # the only webhooks the emulator posts to


@dataclass
class Emulator:
    token: str
    limit_per_second: float | None = None   # per bot; None: no limit
    chat_interval: float | None = None      # seconds between messages to one chat
    sent: list[Sent] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    answered_at: dict[str, float] = field(default_factory=dict)  # query id: first answer
    edited_at: dict[tuple[int, int], float] = field(default_factory=dict)  # (chat, message)
    commands: list[dict[str, Any]] = field(default_factory=list)  # the menu for any language
    # setMyCommands' menus by their language_code ("" for the one for any language)
    menus: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    chat_actions: list[tuple[int, str]] = field(default_factory=list)  # (chat id, action)
    too_many_requests: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    handed_out: int = 0  # the newest update getUpdates has given the bot
    webhook: dict[str, Any] = field(default_factory=dict)  # setWebhook's parameters
    webhook_timeout: float = 10.0  # an update unanswered this long is posted again
    webhook_retry_seconds: float = 0.3  # the pause before posting a refused update again
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._faults: dict[str, deque[Fault]] = {}
        self._holds: dict[str, list[Hold]] = {}
        self._blocked: set[int] = set()
        self._recent: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._delivering: set[int] = set()
        self._poster: asyncio.Task[None] | None = None
        self.port = 0

    # --- what a test does ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def _push(self, kind: str, payload: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, kind: payload})
        return update_id

    @staticmethod
    def _user(chat_id: int, language: str | None) -> dict[str, Any]:
        """The sender; `language`: the language_code their Telegram is set to, if any."""
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Pat"}
        return {**user, "language_code": language} if language else user

    def _message(self, chat_id: int, language: str | None = None,
                 **fields: Any) -> dict[str, Any]:
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Pat"},
                "from": self._user(chat_id, language), **fields}

    def inject_text(self, chat_id: int, text: str, language: str | None = None) -> int:
        """The patient writes `text` (from a Telegram set to `language`); returns the
        update's id."""
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push("message", self._message(chat_id, language, **fields))

    def inject_edited(self, chat_id: int, text: str) -> None:
        self._push("edited_message", self._message(chat_id, text=text,
                                                   edit_date=int(time.time())))

    def inject_sticker(self, chat_id: int) -> None:
        self._push("message", self._message(chat_id, sticker={
            "file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False}))

    def inject_photo(self, chat_id: int) -> None:
        self._push("message", self._message(chat_id, photo=[
            {"file_id": "p1", "file_unique_id": "p1", "width": 90, "height": 90}]))

    def inject_callback(self, chat_id: int, message: Sent, data: str,
                        language: str | None = None) -> str:
        """A press of one of the message's buttons; returns the callback query's id."""
        query_id = f"cb{next(self._update_ids)}"
        self._push("callback_query", {
            "id": query_id, "chat_instance": "ci", "data": data,
            "from": self._user(chat_id, language),
            "message": {"message_id": message.message_id, "date": int(message.at),
                        "chat": {"id": chat_id, "type": "private"}, "text": message.text,
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "CareLoop"}}})
        return query_id

    def fail_next(self, method: str, status: int, times: int = 1, retry_after: int | None = None,
                  description: str = "") -> None:
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            for _ in range(times):
                queue.append(Fault(status, description or f"Error {status}", retry_after))

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            for _ in range(times):
                queue.append(Fault(200, "", delay=seconds))

    def hold_next(self, method: str, after: int = 0, text: str = "",
                  stall: bool = True) -> Hold:
        """Hold the request of `method` (with `text` in its text) that comes after the
        next `after` such ones: it gets no answer until released, and is then carried out
        (Telegram got it; its answer may find nobody). `arrived` is set when it is in.
        Meanwhile the Bot API stalls: other requests of the method wait and are then
        refused with 502 (they never got through), unless `stall` is False."""
        hold = Hold(after, text, stall)
        with self._lock:
            self._holds.setdefault(method, []).append(hold)
        return hold

    def pending(self) -> int:
        """Updates not yet taken by the bot (by getUpdates, or answered 2xx by its webhook)."""
        with self._lock:
            return len(self._updates)

    def deliveries_of(self, update_id: int) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.update_id == update_id]

    def block_chat(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def messages_to(self, chat_id: int) -> list[Sent]:
        with self._lock:
            return [m for m in self.sent if m.chat_id == chat_id]

    def wait_for(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[Sent]:
        """The first `count` messages the bot sent to the chat, waiting for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages_to(chat_id)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages_to(chat_id))} of {count} messages arrived "
                             f"for chat {chat_id}: {[m.text for m in self.messages_to(chat_id)]}")

    def wait_for_text(self, chat_id: int, text: str, timeout: float = 10.0) -> Sent:
        """The first message to the chat containing `text`, whatever came in between."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages_to(chat_id) if text in m.text]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no message with {text!r} for chat {chat_id}: "
                             f"{[m.text for m in self.messages_to(chat_id)]}")

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        """Wait until `check()` holds, or fail saying that `what` never happened."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} never happened")
            time.sleep(0.02)

    def wait_answered(self, query_id: str, timeout: float = 10.0) -> None:
        """Wait until the bot has answered the callback query (answerCallbackQuery)."""
        self.wait_until(lambda: query_id in self.answered,
                        f"an answer to callback query {query_id}", timeout)

    # --- the Bot API --------------------------------------------------------------------

    def _hold(self, method: str, params: dict[str, Any]) -> tuple[Hold, bool] | None:
        """The hold this request meets, and whether it is only stalled behind it."""
        with self._lock:
            holds = self._holds.get(method, [])
            for hold in holds:
                if hold.arrived.is_set():
                    if hold.stall and not hold.released.is_set():
                        return hold, True
                    continue
                if hold.text not in str(params.get("text", "")):
                    continue
                if hold.after:
                    hold.after -= 1
                    return None
                hold.params = params
                hold.arrived.set()
                return hold, False
            return None

    def _fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            return queue.popleft() if queue else None

    def _limited(self, chat_id: int, now: float) -> bool:
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            # Exactly the configured limits, no slack: fewer than `limit_per_second`
            # messages accepted in the second before this one, and `chat_interval` since
            # the chat's last one.
            over_bot = (self.limit_per_second is not None
                        and len(self._recent) >= self.limit_per_second)
            last = self._chat_last.get(chat_id)
            over_chat = (self.chat_interval is not None and last is not None
                         and now - last < self.chat_interval)
            if over_bot or over_chat:
                self.too_many_requests += 1
                return True
            self._recent.append(now)
            self._chat_last[chat_id] = now
            return False

    def _send(self, params: dict[str, Any], accepted: float) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        markup = params.get("reply_markup")
        sent = Sent(chat_id, next(self._message_ids), str(params["text"]),
                    json.loads(markup) if isinstance(markup, str) else markup, time.time(),
                    accepted)
        with self._lock:
            self.sent.append(sent)
        result = {"message_id": sent.message_id, "date": int(sent.at), "text": sent.text,
                  "chat": {"id": chat_id, "type": "private"},
                  "from": {"id": BOT_ID, "is_bot": True, "first_name": "CareLoop"}}
        if sent.reply_markup:
            result["reply_markup"] = sent.reply_markup
        return result

    async def _updates_for(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            if ready or time.monotonic() >= deadline:
                if ready:
                    self.handed_out = max(self.handed_out, ready[-1]["update_id"])
                return ready
            await asyncio.sleep(0.02)

    def _set_webhook(self, params: dict[str, Any]) -> None:
        with self._lock:
            self.webhook = params
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self._updates.clear()
        if params.get("url") and self._poster is None:
            self._poster = asyncio.ensure_future(self._post_updates())

    async def _post_updates(self) -> None:
        """As Telegram does with a webhook set: each update posted until answered 2xx."""
        async with httpx.AsyncClient() as client:
            while True:
                with self._lock:
                    url = str(self.webhook.get("url", ""))
                    new = [u for u in self._updates if u["update_id"] not in self._delivering]
                    if url and urlparse(url).hostname in LOOPBACK:
                        self._delivering.update(u["update_id"] for u in new)
                    else:
                        new = []
                for update in new:
                    asyncio.ensure_future(self._post(client, update))
                await asyncio.sleep(0.02)

    async def _post(self, client: httpx.AsyncClient, update: dict[str, Any]) -> None:
        while True:
            url = str(self.webhook.get("url", ""))
            if not url:
                break
            headers = {"X-Telegram-Bot-Api-Secret-Token": str(self.webhook.get("secret_token",
                                                                                ""))}
            try:
                answer = await client.post(url, json=update, headers=headers,
                                           timeout=self.webhook_timeout)
                status = answer.status_code
            except httpx.HTTPError:  # no answer in time, or nobody listening
                status = 0
            with self._lock:
                self.deliveries.append(Delivery(update["update_id"], status, time.monotonic()))
                if 200 <= status < 300:
                    self._updates = [u for u in self._updates if u is not update]
                    break
            await asyncio.sleep(self.webhook_retry_seconds)
        with self._lock:
            self._delivering.discard(update["update_id"])

    async def handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != self.token:
            return JSONResponse({"ok": False, "error_code": 401,
                                 "description": "Unauthorized"}, 401)
        params = await _params(request)
        self.calls[method] = self.calls.get(method, 0) + 1
        held = self._hold(method, params)
        if held:
            hold, stalled = held
            while not hold.released.is_set():
                await asyncio.sleep(0.01)
            if stalled:
                return JSONResponse({"ok": False, "error_code": 502,
                                     "description": "Bad Gateway"}, 502)
        fault = self._fault(method)
        if fault and fault.delay:
            await asyncio.sleep(fault.delay)
        elif fault:
            body: dict[str, Any] = {"ok": False, "error_code": fault.status,
                                    "description": fault.description}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return JSONResponse(body, fault.status)
        result = await self._answer(method, params)
        if isinstance(result, JSONResponse):
            return result
        return JSONResponse({"ok": True, "result": result})

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "CareLoop",
                    "username": BOT_USERNAME, "can_join_groups": False,
                    "can_read_all_group_messages": False, "supports_inline_queries": False}
        if method == "getUpdates":
            if self.webhook.get("url"):
                return JSONResponse({"ok": False, "error_code": 409, "description": (
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first")}, 409)
            return await self._updates_for(params)
        if method == "setWebhook":
            self._set_webhook(params)
            return True
        if method == "deleteWebhook":
            with self._lock:
                self.webhook = {}
            return True
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            if chat_id in self._blocked:
                return JSONResponse({"ok": False, "error_code": 403,
                                     "description": "Forbidden: bot was blocked by the user"}, 403)
            now = time.monotonic()
            if self._limited(chat_id, now):
                return JSONResponse({"ok": False, "error_code": 429,
                                     "description": "Too Many Requests: retry after 1",
                                     "parameters": {"retry_after": 1}}, 429)
            return self._send(params, now)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            with self._lock:
                self.edits.append(params)
                edited = (int(params.get("chat_id") or 0), int(params.get("message_id") or 0))
                self.edited_at.setdefault(edited, time.monotonic())
            return True
        if method == "answerCallbackQuery":
            with self._lock:
                self.answered.append(str(params.get("callback_query_id")))
                self.answered_at.setdefault(str(params.get("callback_query_id")),
                                            time.monotonic())
            return True
        if method == "sendChatAction":
            with self._lock:
                self.chat_actions.append((int(params["chat_id"]), str(params["action"])))
            return True
        if method == "setMyCommands":
            commands = params.get("commands")
            menu = json.loads(commands) if isinstance(commands, str) else commands
            self.menus[str(params.get("language_code") or "")] = menu
            if not params.get("language_code"):
                self.commands = menu
            return True
        if method in ("close", "logOut", "deleteMyCommands"):
            return True
        if method == "getWebhookInfo":
            with self._lock:
                return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                        "pending_update_count": len(self._updates)}
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)


async def _params(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        return dict(json.loads(body)) if body else {}
    # PTB posts its parameters URL-encoded (objects such as reply_markup as JSON text).
    body = (await request.body()).decode()
    query = dict(parse_qsl(request.url.query))
    return {**query, **dict(parse_qsl(body, keep_blank_values=True))}


class Server:
    """The emulator served on a free loopback port, in a thread."""

    def __init__(self, emulator: Emulator) -> None:
        app = Starlette(routes=[Route("/bot{token}/{method}", emulator.handle,
                                      methods=["GET", "POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning", lifespan="off"))
        self.emulator = emulator
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Emulator:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Bot API emulator did not start")
            time.sleep(0.02)
        self.emulator.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self.emulator

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
