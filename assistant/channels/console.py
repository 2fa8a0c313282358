"""The console channel: a patient's chat in a terminal (the offline demo).

The same flow as any channel: typed lines go to `flow.Flow` (`/start CODE`, `/stop`,
`/today`, ... or words), its answers are printed with numbered choices, and a number
presses that choice. The console delivers its own outbox while it runs (nothing else
reaches the terminal), so reminders arrive with their choices; dose choices are
recorded directly in storage, so they work even when Rasa is down. A terminal has no
deep link: the demo links its chat to the demo patient itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
import threading
from typing import IO

from assistant import texts
from assistant.channels import flow as flows
from assistant.channels.base import drain_outbox
from assistant.channels.flow import Flow
from assistant.config import Settings
from assistant.conversation.rasa_client import OnHold, RasaClient
from assistant.services.outbox import Buttons, Recorded

log = logging.getLogger(__name__)
CHANNEL = "console"
DEMO_CHAT = "demo"
PROMPT = "you> "


async def _lines() -> asyncio.Queue[str | None]:
    """stdin lines, read in a thread so reminders can be printed while waiting."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    # A daemon thread, not the loop's executor: leaving must not wait for a last line.
    threading.Thread(target=reader, daemon=True).start()
    return queue


class Console:
    """One chat (`chat_id`, linked like any chat) in this terminal. Numbered choices stay
    open until the next line is typed."""

    name = CHANNEL

    def __init__(self, settings: Settings, chat_id: str = DEMO_CHAT,
                 out: IO[str] = sys.stdout) -> None:
        self.settings = settings
        self.chat_id = chat_id
        self.out = out
        self.choices: dict[str, str] = {}  # number → button data
        self.language: str | None = None  # the patient's, for the console's own lines
        self._ids = itertools.count(1)

    def show(self, text: str, choices: list[tuple[str, str]]) -> int:
        """Print a message with its (title, data) choices; returns its message id."""
        self.out.write(f"\rbot> {text}\n")
        if choices:
            self.choices = {str(n): data for n, (_, data) in enumerate(choices, start=1)}
            options = "   ".join(f"[{n}] {title}" for n, (title, _) in
                                 enumerate(choices, start=1))
            self.out.write(f"     {options}\n")
        self.out.write(PROMPT)
        self.out.flush()
        return next(self._ids)

    async def send(self, chat_id: str, text: str, buttons: Buttons, *,
                   recorded: Recorded | None = None) -> int:
        return self.show(text, [(b["text"], b["data"]) for row in buttons for b in row])

    def deep_link(self, code: str) -> None:
        return None

    async def drain(self, stop: asyncio.Event) -> None:
        await drain_outbox(self, self.settings, stop)

    def on_hold(self) -> OnHold:
        """What the patient sees while their message waits for Rasa to start: one line."""
        shown = False

        async def notice() -> None:
            nonlocal shown
            if not shown:
                shown = True
                self.show(texts.t("console.hold", self.language), [])

        return notice

    async def _answer(self, flow: Flow, text: str, choice: str | None) -> None:
        """A typed line, or the choice it picked (one that is not a dose's)."""
        chat = self.chat_id
        try:
            if choice is None:
                await flow.message(chat, text, self.on_hold())
            elif choice.startswith(flows.CONSENT_DATA):
                await flow.consent(chat, choice)
            elif choice.startswith(flows.LANGUAGE_DATA):
                await flow.choose_language(chat, choice)
            else:
                await flow.rasa_button(chat, choice, self.on_hold())
        except Exception:
            log.exception("chat turn failed")
            self.show(texts.t("console.failed", self.language), [])
        else:  # the patient may have chosen another language ("en español, por favor")
            self.language = await flow.language(chat)

    async def serve(self, stop: asyncio.Event) -> None:
        """Chat until the patient types /quit, input ends or `stop` is set."""
        settings = self.settings
        rasa = RasaClient(settings.rasa_servers, settings.rasa_timeout_seconds,
                          hold_seconds=settings.rasa_hold_seconds)
        flow = Flow(self, rasa, snooze_minutes=settings.snooze_minutes)
        delivered = asyncio.Event()
        drain = asyncio.create_task(self.drain(delivered))
        # Lines are answered beside the input (a message may wait for Rasa to start); the
        # flow keeps them in order.
        answering = set[asyncio.Task[None]]()
        lines, stopped = await _lines(), asyncio.ensure_future(stop.wait())
        self.language = await flow.language(self.chat_id)
        self.show(texts.t("console.greeting", self.language), [])
        try:
            while True:
                line = asyncio.ensure_future(lines.get())
                await asyncio.wait({line, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not line.done():
                    line.cancel()
                    break
                typed = line.result()
                if typed is None or typed.strip() in ("/quit", "/exit"):
                    break
                text = typed.strip()
                if not text:
                    self.show(texts.t("console.empty", self.language), [])
                    continue
                choice, self.choices = self.choices.get(text), {}
                if choice and choice.startswith(flows.DOSE_DATA):
                    outcome = await flow.dose_button(self.chat_id, choice)
                    self.show(outcome or texts.t("console.expired", self.language), [])
                elif choice and choice.startswith(flows.CONFIRM_DATA):
                    said = await flow.confirm_button(self.chat_id, choice)
                    expired = texts.t("console.expired", self.language)
                    self.show(said.text if said else expired, [])
                else:
                    answering.add(task := asyncio.create_task(self._answer(flow, text, choice)))
                    task.add_done_callback(answering.discard)
        finally:
            stopped.cancel()
            rasa.release()  # what still waits for Rasa gets its answer now
            await asyncio.gather(*answering, return_exceptions=True)
            delivered.set()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
            await rasa.aclose()
