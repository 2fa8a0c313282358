"""The console channel: chat as a linked patient in a terminal (the offline demo).

It behaves like the Telegram bridge: text goes through `conversation.turn`, reminders
arrive from the outbox with numbered choices, and dose choices are recorded directly
in storage, so they work even when Rasa is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
import threading
from typing import IO

from assistant.config import Settings
from assistant.conversation import chat as conversation
from assistant.conversation.rasa_client import OnHold, RasaClient, Reply
from assistant.services import outbox
from assistant.services.doses import apply_dose_button
from assistant.services.reminders import Buttons
from assistant.storage.db import session
from assistant.storage.models import Patient

log = logging.getLogger(__name__)
CHANNEL = "console"
FAILED = "Sorry, something went wrong there. Please try again."
PROMPT = "you> "
HOLD = "(one moment: the assistant is starting)"


class Console:
    """What the patient sees: numbered choices stay open until another message comes."""

    def __init__(self, out: IO[str] = sys.stdout) -> None:
        self.out = out
        self.choices: dict[str, tuple[str, str]] = {}  # number → (kind, data)
        self._ids = itertools.count(1)

    def show(self, text: str, choices: list[tuple[str, str, str]]) -> int:
        """Print a bot message with (title, kind, data) choices; returns a message id."""
        self.out.write(f"\rbot> {text}\n")
        if choices:
            self.choices = {str(n): (kind, data)
                            for n, (_, kind, data) in enumerate(choices, start=1)}
            options = "   ".join(f"[{n}] {title}" for n, (title, _, _) in
                                 enumerate(choices, start=1))
            self.out.write(f"     {options}\n")
        self.out.write(PROMPT)
        self.out.flush()
        return next(self._ids)

    def show_replies(self, replies: list[Reply]) -> None:
        for reply in replies:
            self.show(reply.text, [(b["title"], "rasa", b["payload"]) for b in reply.buttons])

    def on_hold(self) -> OnHold:
        """What the patient sees while their message waits for Rasa to start: one line."""
        shown = False

        async def notice() -> None:
            nonlocal shown
            if not shown:
                shown = True
                self.show(HOLD, [])

        return notice

    async def deliver(self, chat_id: str, text: str, buttons: Buttons) -> int:
        """The outbox's sender for this channel."""
        return self.show(text, [(b["text"], "dose", b["data"]) for row in buttons for b in row])


def _press(patient_id: int, data: str, snooze_minutes: int) -> str:
    with session() as db:
        return apply_dose_button(db, patient_id=patient_id, data=data,
                                 snooze_minutes=snooze_minutes) or "That choice has expired."


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


async def chat(settings: Settings, patient: Patient, console: Console | None = None) -> None:
    """Chat until the patient types /quit or input ends."""
    console = console or Console()
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds,
                      hold_seconds=settings.rasa_hold_seconds)
    stop = asyncio.Event()
    drain = asyncio.create_task(outbox.drain(console.deliver, channel=CHANNEL, stop=stop))
    # Turns run beside the input, one at a time and in order (a message may wait for Rasa
    # to start); a possible emergency does not wait its turn.
    turns, answering = asyncio.Lock(), set[asyncio.Task[None]]()

    async def answer(text: str) -> None:
        async with contextlib.nullcontext() if conversation.is_urgent(text) else turns:
            try:
                replies = await conversation.turn(rasa, patient, text, console.on_hold())
            except Exception:
                log.exception("chat turn failed")
                replies = [Reply(FAILED)]
            console.show_replies(replies)

    lines = await _lines()
    console.show("Hello! Type a message, a number to pick a choice, or /quit to leave.", [])
    try:
        while (line := await lines.get()) is not None:
            text = line.strip()
            if text in ("/quit", "/exit"):
                break
            if not text:
                console.show("(type a message, or /quit)", [])
                continue
            kind, data = console.choices.pop(text, ("text", text))
            console.choices = {}
            if kind == "dose":
                console.show(await asyncio.to_thread(_press, patient.id, data,
                                                     settings.snooze_minutes), [])
            else:
                answering.add(task := asyncio.create_task(answer(data)))
                task.add_done_callback(answering.discard)
    finally:
        rasa.release()  # what still waits for Rasa gets its answer now
        await asyncio.gather(*answering, return_exceptions=True)
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
        await rasa.aclose()
