"""The Telegram bridge (python-telegram-bot): enrolment, private chats, dose buttons.

Nothing about a patient reaches a chat before it is linked with a one-time code and
the patient agreed to the notice. Linked chats talk to Rasa (the conversation id is
the patient's opaque `chat_ref`, never the Telegram id). Reminder buttons are
answered against storage directly, so they work while Rasa is down. Every reply goes
through the one `TelegramSender`. Logs carry no message text.

Updates are handled concurrently (a message held while Rasa starts must not hold up
everyone else's buttons), one at a time and in order within a chat. Telegram is told an
update was received only once it has been handled (`poll`): a bridge killed mid-turn
gets the message again when it restarts. The bridge waits for an unreachable Bot API
without crashing, and stops within a few seconds whatever Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from sqlmodel import Session
from telegram import BotCommand, Update
from telegram.constants import ChatAction
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    SimpleUpdateProcessor,
    filters,
)

from assistant.channels.telegram.sender import TelegramSender, make_bot
from assistant.config import Settings
from assistant.conversation import chat as conversation
from assistant.conversation.rasa_client import RasaClient, Reply
from assistant.domain import safety
from assistant.errors import EnrolmentRefused
from assistant.services import alerts, enrolment
from assistant.services.doses import apply_dose_button
from assistant.services.outbox import Buttons, RetryLater, Unreachable
from assistant.storage.db import is_unavailable, session
from assistant.storage.models import CareTeam, Patient

log = logging.getLogger(__name__)
CHANNEL = "telegram"
T = TypeVar("T")
POLLING_STOP_SECONDS = 1.0  # stopping waits this long for polling to end ...
STOP_SECONDS = 2.0  # ... and this long for the replies in hand to be sent
RETRY_SECONDS = 30.0  # the longest pause between tries to reach an unreachable Bot API
LONG_POLL_SECONDS = 10  # getUpdates waits this long for news when nothing is in hand
BUSY_POLL_SECONDS = 0.3  # with updates in hand, how often to look for new ones
BATCH = 100  # Telegram hands out at most this many updates at a time
DATABASE_RETRY_SECONDS = 1.0  # an emergency's alert waits for the database this often

JOIN = ("Hello! I'm CareLoop, a medication assistant used by care teams. To start, send "
        "the enrolment code your care team gave you, like this: /start ABCD234XYZ")
CONSENT = ("Before we start: CareLoop reminds you of your medicines and passes messages to "
           "your care team, who can read what you write here. It is not a medical device "
           "and not for emergencies: in an emergency call your emergency number.\n\n"
           "Do you agree?")
WELCOME = ("You're all set, {name}. I'll remind you of your doses here. Ask me 'what do I "
           "take today?' or type /help.")
STOPPED = ("You won't get any more messages from me. If you want to start again, ask your "
           "care team for a new code.")
MOVED = ("Your CareLoop reminders now go to another Telegram chat: a new enrolment code "
         "from your care team was used there. This chat gets no more messages. If that "
         "was not you, call your care team now.")
UNSUPPORTED = "Sorry, I can only read text messages. Please type your message."
EDITED = "I only see new messages, not edits. Please send it again as a new message."
COMMANDS = [BotCommand("today", "What do I take today?"), BotCommand("help", "What I can do"),
            BotCommand("pause", "Pause reminders"), BotCommand("resume", "Resume reminders"),
            BotCommand("stop", "Stop and unlink this chat")]
COMMAND_TEXT = {"today": "what do I take today?", "help": "help",
                "pause": "pause my reminders", "resume": "resume my reminders"}


def _db(work: Callable[..., T], *args: object) -> asyncio.Future[T]:
    """Blocking storage work in a thread, in one unit of work."""

    def run() -> T:
        with session() as db:
            return work(db, *args)

    return asyncio.ensure_future(asyncio.to_thread(run))


class Bridge:
    def __init__(self, settings: Settings, sender: TelegramSender, rasa: RasaClient) -> None:
        self.settings = settings
        self.sender = sender
        self.rasa = rasa
        self._payloads: dict[str, str] = {}  # short button keys → long Rasa payloads
        self._chats: dict[int, tuple[asyncio.Lock, list[int]]] = {}  # lock, users
        # Each chat's care team as last seen: its emergency number and crisis line are
        # given from here while the database is out of reach.
        self._teams: dict[int, CareTeam] = {}

    @contextlib.asynccontextmanager
    async def one_at_a_time(self, chat_id: int) -> AsyncIterator[None]:
        """A chat's messages are answered one after the other, in the order they came
        (a possible emergency does not wait its turn: see `_text`)."""
        lock, users = self._chats.setdefault(chat_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._chats[chat_id]

    async def reply(self, chat_id: int, text: str, buttons: Buttons | None = None) -> None:
        try:
            await self.sender.send(str(chat_id), text, buttons or [])
        except Unreachable:
            await _db(lambda db: enrolment.mark_unreachable(db, channel=CHANNEL,
                                                             chat_id=str(chat_id)))

    async def patient(self, chat_id: int) -> Patient | None:
        return await _db(lambda db: enrolment.linked_patient(db, CHANNEL, str(chat_id)))

    async def _linked(self, chat_id: int) -> Patient | None:
        """The chat's patient, noting their care team."""

        def find(db: Session) -> tuple[Patient | None, CareTeam | None]:
            patient = enrolment.linked_patient(db, CHANNEL, str(chat_id))
            return patient, db.get(CareTeam, patient.team_id) if patient else None

        patient, team = await _db(find)
        if team is not None:
            self._teams[chat_id] = team
        return patient

    async def _database_down(self, chat_id: int, text: str) -> None:
        """The database is out of reach: a possible emergency gets the guidance at once and
        its alert as soon as the database is back (the update stays in hand until then, so
        that a restart does not lose it); anything else gets the fallback, with the
        emergency number."""
        team = self._teams.get(chat_id)
        if not conversation.is_urgent(text):
            await self.reply(chat_id, conversation.UNAVAILABLE.format(
                number=safety.emergency_number(team)))
            return
        await self.reply(chat_id, safety.emergency_guidance(team))
        while True:
            await asyncio.sleep(DATABASE_RETRY_SECONDS)
            try:
                patient = await self.patient(chat_id)
                if patient is not None:
                    await _db(alerts.raise_emergency, patient)
                return
            except Exception as exc:
                if not is_unavailable(exc):
                    raise

    def _rasa_buttons(self, reply: Reply) -> Buttons:
        rows = []
        for button in reply.buttons:
            data = f"r:{button['payload']}"
            if len(data.encode()) > 64:  # Telegram's limit for callback data
                key = f"k:{len(self._payloads) % 10_000}"
                self._payloads[key] = button["payload"]
                data = key
            rows.append([{"text": button["title"], "data": data}])
        return rows

    async def converse(self, chat_id: int, patient: Patient, text: str) -> None:
        async def typing() -> None:  # while the message waits for Rasa to start
            with contextlib.suppress(TelegramError):
                await self.sender.bot.send_chat_action(chat_id, ChatAction.TYPING)

        for reply in await conversation.turn(self.rasa, patient, text, typing):
            await self.reply(chat_id, reply.text or "Please choose:", self._rasa_buttons(reply))

    # --- handlers ---------------------------------------------------------------------------

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start CODE`: show the notice to agree to before the chat is linked."""
        chat = update.effective_chat
        assert chat is not None
        code = (context.args or [""])[0]
        if not code:
            patient = await self.patient(chat.id)
            await self.reply(chat.id, WELCOME.format(name=patient.display_name)
                             if patient else JOIN)
            return
        try:
            await _db(lambda db: enrolment.check_code(db, code=code, chat_id=str(chat.id)))
        except EnrolmentRefused as refused:
            await self.reply(chat.id, str(refused))
            return
        await self.reply(chat.id, CONSENT, [[{"text": "✅ I agree", "data": f"consent:{code}"},
                                             {"text": "No, thanks", "data": "consent:-"}]])

    async def consent(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The notice's buttons: agreeing links the chat to the patient."""
        query = update.callback_query
        assert query is not None and query.data is not None and update.effective_chat
        await query.answer()
        chat_id = update.effective_chat.id
        code = query.data.removeprefix("consent:")
        await query.edit_message_reply_markup(reply_markup=None)
        if code == "-":
            await self.reply(chat_id, "OK, nothing was linked. " + JOIN)
            return
        try:
            previous = await _db(lambda db: enrolment.moving_from(
                db, code=code, channel=CHANNEL, chat_id=str(chat_id)))
            # The chat the patient used until now hears of the move while it is linked.
            told = previous is not None and await self._tell_moved(previous.channel,
                                                                   previous.chat_id)
            patient = await _db(lambda db: enrolment.redeem_code(
                db, code=code, channel=CHANNEL, chat_id=str(chat_id), previous_told=told))
        except EnrolmentRefused as refused:
            await self.reply(chat_id, str(refused))
            return
        log.info("chat linked to patient %s", patient.id)
        await self.reply(chat_id, WELCOME.format(name=patient.display_name))

    async def _tell_moved(self, channel: str, chat_id: str) -> bool:
        """Tell a patient's previous chat that their reminders move; False if it cannot be."""
        if channel != CHANNEL:
            return False
        try:
            await self.sender.send(chat_id, MOVED, [])
        except (Unreachable, RetryLater):  # blocked, or Telegram kept failing: the alert says
            return False
        return True

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/stop`: unlink the chat; nothing more is sent to it."""
        chat = update.effective_chat
        assert chat is not None
        await _db(lambda db: enrolment.unlink(db, channel=CHANNEL, chat_id=str(chat.id)))
        await self.reply(chat.id, STOPPED)

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/today, /help, /pause, /resume: the same as saying it in words."""
        message = update.effective_message
        assert message is not None and message.text is not None
        name = message.text.split()[0].lstrip("/").split("@")[0]
        await self._text(update, COMMAND_TEXT.get(name, "help"))

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message: to Rasa for a linked chat, how to join for others."""
        message = update.effective_message
        assert message is not None
        await self._text(update, message.text or "")

    async def _text(self, update: Update, text: str) -> None:
        chat = update.effective_chat
        assert chat is not None
        urgent = conversation.is_urgent(text)
        async with contextlib.nullcontext() if urgent else self.one_at_a_time(chat.id):
            try:
                patient = await self._linked(chat.id)
                if patient is None:
                    await self.reply(chat.id, JOIN)
                    return
                await self.converse(chat.id, patient, text)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                log.warning("database unavailable for a chat turn (%s)", type(exc).__name__)
                await self._database_down(chat.id, text)

    async def dose_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Taken / Snooze / Skip on a reminder: recorded directly, Rasa not needed."""
        query = update.callback_query
        assert query is not None and query.data is not None and update.effective_chat
        await query.answer()
        patient = await self.patient(update.effective_chat.id)
        data = query.data
        outcome = await _db(lambda db: apply_dose_button(
            db, patient_id=patient.id, data=data, snooze_minutes=self.settings.snooze_minutes)
        ) if patient else None
        if outcome is None:
            await query.edit_message_reply_markup(reply_markup=None)
            return
        original = query.message.text if query.message and hasattr(query.message, "text") else ""
        await query.edit_message_text(f"{original}\n\n{outcome}".strip(), reply_markup=None)

    async def rasa_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button from a Rasa answer: its payload goes to Rasa as the patient's message."""
        query = update.callback_query
        assert query is not None and query.data is not None and update.effective_chat
        await query.answer()
        data = query.data
        payload = data[2:] if data.startswith("r:") else self._payloads.get(data, "")
        await query.edit_message_reply_markup(reply_markup=None)
        await self._text(update, payload or "help")

    async def unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice, files: a polite word."""
        if update.effective_chat:
            await self.reply(update.effective_chat.id, UNSUPPORTED)

    async def edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Edited messages are not re-read."""
        if update.effective_chat:
            await self.reply(update.effective_chat.id, EDITED)

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure, without the update's content (it may hold health data)."""
        log.error("handler failed", exc_info=context.error)


class Handling(SimpleUpdateProcessor):
    """Updates handled concurrently (as `concurrent_updates(True)` does), remembering which
    of those taken from Telegram are not finished yet (see `poll`)."""

    def __init__(self) -> None:
        super().__init__(max_concurrent_updates=256)
        self.unfinished: set[int] = set()
        self.taken: int | None = None  # the newest update taken from Telegram
        self.finished = asyncio.Event()

    def offset(self) -> int | None:
        """getUpdates' offset: it confirms every update before it, and only those."""
        if self.unfinished:
            return min(self.unfinished)
        return None if self.taken is None else self.taken + 1

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
        finally:
            if isinstance(update, Update):
                self.unfinished.discard(update.update_id)
                self.finished.set()


def build_application(settings: Settings, rasa: RasaClient) -> Application:  # type: ignore[type-arg]
    application = (ApplicationBuilder().bot(make_bot(settings))
                   .concurrent_updates(Handling()).build())
    bridge = Bridge(settings, TelegramSender.from_settings(settings, application.bot), rasa)
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE
    application.add_handlers([
        CommandHandler("start", bridge.start, filters=private),
        CommandHandler("stop", bridge.stop, filters=private),
        CommandHandler(list(COMMAND_TEXT), bridge.command, filters=private),
        CallbackQueryHandler(bridge.consent, pattern=r"^consent:"),
        CallbackQueryHandler(bridge.dose_button, pattern=r"^dose:"),
        CallbackQueryHandler(bridge.rasa_button, pattern=r"^[rk]:"),
        MessageHandler(private & new & filters.TEXT & ~filters.COMMAND, bridge.text),
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, bridge.edited),
        MessageHandler(private & new & ~filters.TEXT, bridge.unsupported),
    ])
    application.add_error_handler(bridge.error)
    return application


ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


async def _or_stop(work: Awaitable[T], stop: asyncio.Event) -> tuple[bool, T | None]:
    """(True, its result), or (False, None) when `stop` is set first (the work cancelled)."""
    task, stopped = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return True, task.result()
    while not task.done():  # PTB swallows a first cancellation while it stops polling
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if not task.cancelled():
        task.exception()  # read, so that asyncio does not report it as never retrieved
    return False, None


async def _connect(application: Application, stop: asyncio.Event) -> bool:  # type: ignore[type-arg]
    """Reach the Bot API, trying again (with growing pauses) while it is unreachable;
    False when told to stop first."""
    pause = 1.0
    while not stop.is_set():
        try:
            done, _ = await _or_stop(application.initialize(), stop)
            if done:
                await application.bot.set_my_commands(COMMANDS)
            return done
        except NetworkError as exc:  # also timeouts; a wrong token is not retried
            log.warning("Telegram Bot API unreachable (%s); trying again in %.0f s",
                        type(exc).__name__, pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        pause = min(pause * 2, RETRY_SECONDS)
    return False


async def poll(application: Application, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    """Long polling that confirms to Telegram only the updates already handled, until
    `stop`.

    getUpdates confirms every update before its offset, and Telegram then forgets them.
    PTB's updater confirms an update as soon as it has queued it: a bridge killed while it
    handles a message (waiting for Rasa, say) loses it, and the patient never gets an
    answer. Here the offset stays at the oldest update still in hand, so that after a
    crash Telegram hands out again what was not answered, and what was answered after it
    (answered twice rather than never: at-least-once, as the outbox). Should a whole batch
    be in hand, it is confirmed anyway, so that new messages (an emergency) still come in.
    """
    handling = application.update_processor
    assert isinstance(handling, Handling)
    pause = 1.0
    while not stop.is_set():
        busy = bool(handling.unfinished)
        handling.finished.clear()
        try:
            done, updates = await _or_stop(application.bot.get_updates(
                offset=handling.offset(), timeout=0 if busy else LONG_POLL_SECONDS,
                allowed_updates=ALLOWED_UPDATES), stop)
        except TelegramError as exc:
            _polling_failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, RETRY_SECONDS)
            continue
        if not done or updates is None:
            return
        pause = 1.0
        taken = handling.taken
        new = [u for u in updates if taken is None or u.update_id > taken]
        for update in new:
            handling.unfinished.add(update.update_id)
            handling.taken = update.update_id
            await application.update_queue.put(update)
        if not new and len(updates) >= BATCH:
            log.warning("%d updates in hand: confirmed to Telegram before they are answered, "
                        "so that new ones come in", len(handling.unfinished))
            handling.unfinished.clear()
        elif busy and not new:  # only updates in hand came back: wait a little for news
            await _or_stop(handling.finished.wait(), _after(BUSY_POLL_SECONDS))


async def _stop(application: Application) -> None:  # type: ignore[type-arg]
    """Answer the updates in hand (held messages get their fallback now), tell Telegram
    which were handled, then close."""
    await application.stop()
    handling = application.update_processor
    if isinstance(handling, Handling) and handling.taken is not None:
        with contextlib.suppress(TelegramError):
            await application.bot.get_updates(offset=handling.offset(), timeout=0,
                                              allowed_updates=ALLOWED_UPDATES)
    await application.shutdown()


def _after(seconds: float) -> asyncio.Event:
    """An event set `seconds` from now."""
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, event.set)
    return event


def _polling_failed(exc: TelegramError) -> None:
    """PTB retries by itself; one line per failure, not a traceback each time."""
    log.warning("polling Telegram failed (%s); retrying", type(exc).__name__)


async def run_bridge(settings: Settings, stop: asyncio.Event) -> None:
    """Serve Telegram until `stop`: long polling, or a webhook with a secret token when a
    public URL is configured."""
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds,
                      hold_seconds=settings.rasa_hold_seconds)
    application = build_application(settings, rasa)
    if not await _connect(application, stop):
        await rasa.aclose()
        return
    await application.start()
    try:
        if settings.webhook_url:
            assert application.updater is not None
            await application.updater.start_webhook(
                listen="127.0.0.1", port=settings.webhook_port, url_path="telegram",
                webhook_url=f"{settings.webhook_url.rstrip('/')}/telegram",
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES)
            log.info("bridge started (webhook)")
            await stop.wait()
        else:
            log.info("bridge started (long polling)")
            await poll(application, stop)
    finally:
        rasa.release()  # messages waiting for Rasa get their answer now
        if application.updater is not None and application.updater.running:
            done, _ = await _or_stop(application.updater.stop(), _after(POLLING_STOP_SECONDS))
            if not done:
                log.warning("Telegram did not answer; stopping without it")
        done, _ = await _or_stop(_stop(application), _after(STOP_SECONDS))
        if not done:
            log.warning("replies still being sent after %.0f s were dropped", STOP_SECONDS)
        await rasa.aclose()
    log.info("bridge stopped")
