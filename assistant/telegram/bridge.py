"""The Telegram bridge (python-telegram-bot): enrolment, private chats, dose buttons.

Nothing about a patient reaches a chat before it is linked with a one-time code and
the patient agreed to the notice. Linked chats talk to Rasa (the conversation id is
the patient's opaque `chat_ref`, never the Telegram id). Reminder buttons and /today
are answered from storage directly, so they work while Rasa is down. Every reply and
edit goes through the one `TelegramSender`. Logs carry no message text or user data.

Updates of one chat are handled one after the other, in order; different chats
concurrently (a slow Rasa answer or a paced reply holds up nobody else).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlmodel import Session, select
from telegram import BotCommand, ChatMember, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from assistant import conversation, doses, enrolment, patients, schedules
from assistant.db import session, utcnow
from assistant.errors import EnrolmentRefused
from assistant.messages import apply_dose_button, dose_label
from assistant.models import DoseStatus, EnrolmentCode, Patient, PatientStatus
from assistant.outbox import Buttons, Unreachable
from assistant.rasa_client import RasaClient, Reply
from assistant.settings import Settings
from assistant.telegram.sender import MAX_CALLBACK_DATA, TelegramSender

__all__ = ["ALLOWED_UPDATES", "COMMANDS", "Bridge", "build_application", "run_bridge"]

log = logging.getLogger(__name__)
CHANNEL = "telegram"
T = TypeVar("T")
App = Application[Any, Any, Any, Any, Any, Any]

JOIN = ("Hello! I'm CareLoop, a medication assistant used by care teams. To start, send "
        "the enrolment code your care team gave you, like this: /start ABCD234XYZ")
CONSENT = ("Before we start: CareLoop reminds you of your medicines and passes messages to "
           "your care team, who can read what you write here. It is not a medical device "
           "and not for emergencies: in an emergency call your emergency number.\n\n"
           "Do you agree?")
DECLINED = "OK, nothing was linked. " + JOIN
WELCOME = ("You're all set, {name}. I'll remind you of your doses here. Ask me 'what do I "
           "take today?' or type /help.")
ALREADY = "This chat is linked already, {name}. Type /help to see what I can do."
STOPPED = ("You won't get any more messages from me. If you want to start again, ask your "
           "care team for a new code.")
UNSUPPORTED = "Sorry, I can only read text messages. Please type your message."
EDITED = "I only see new messages, not edits. Please send it again as a new message."
GROUPS = "I only talk in private chats. Please open a private chat with me."
EXPIRED_CHOICE = "That choice has expired. Please type your answer instead."
HELP = ("Here is what I can do:\n"
        "• remind you of your medicines: answer with the buttons (Taken, Snooze, Skip)\n"
        "• /today: what you take today\n"
        "• tell me 'I took my metformin', or log a reading like 'BP 130/85'\n"
        "• pass a message to your care team\n"
        "• /pause and /resume your reminders\n"
        "• /stop: unlink this chat\n"
        "I'm not for emergencies: in an emergency call {number}.")
NO_PLAN = ("You have no medications in your plan yet. Your care team sets up your plan; I'll "
           "remind you as soon as they do.")
PAUSED_NOTE = "\n\nYour reminders are paused: /resume turns them back on."
MARK = {DoseStatus.taken: " ✅ taken", DoseStatus.skipped: " (skipped)",
        DoseStatus.missed: " (missed)", DoseStatus.snoozed: " (snoozed)",
        DoseStatus.cancelled: " (cancelled)"}

COMMANDS = [BotCommand("today", "What do I take today?"), BotCommand("help", "What I can do"),
            BotCommand("pause", "Pause reminders"), BotCommand("resume", "Resume reminders"),
            BotCommand("stop", "Stop and unlink this chat")]
# Commands that are the same as saying it in words to the assistant.
SAID = {"pause": "pause my reminders", "resume": "resume my reminders"}
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY,
                   Update.MY_CHAT_MEMBER]


def _db(work: Callable[[Session], T]) -> Awaitable[T]:
    """Blocking storage work in a thread, as one unit of work."""

    def run() -> T:
        with session() as db:
            return work(db)

    return asyncio.to_thread(run)


def today_text(db: Session, patient: Patient) -> str:
    """/today: the patient's doses on their local day, with what they did about each."""
    plan = doses.day_plan(db, patient)
    tz = schedules.zone(patient.timezone)
    if plan:
        text = "Your doses today:\n" + "\n".join(
            f"• {p.due.astimezone(tz):%H:%M} {dose_label(p.medication)}{MARK.get(p.status, '')}"
            for p in plan)
    else:
        has_plan = bool(patients.medications(db, patient.id))
        text = "Nothing is scheduled today." if has_plan else NO_PLAN
    return text + (PAUSED_NOTE if patient.status == PatientStatus.paused else "")


class PerChatOrder(BaseUpdateProcessor):
    """Updates of one chat one after the other, in the order they came; chats concurrently."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:
                del self._waiting[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


class Payloads:
    """Rasa button payloads too long for Telegram's 64-byte callback data, under short keys;
    a key works only in the chat it was made for. The oldest are forgotten."""

    def __init__(self, size: int = 10_000) -> None:
        self._items: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._ids = itertools.count(1)
        self._size = size

    def data(self, chat_id: int, payload: str) -> str:
        data = f"r:{payload}"
        if len(data.encode()) <= MAX_CALLBACK_DATA:
            return data
        key = f"k:{next(self._ids)}"
        self._items[key] = (chat_id, payload)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return key

    def payload(self, chat_id: int, data: str) -> str | None:
        if data.startswith("r:"):
            return data[2:]
        chat, payload = self._items.get(data, (None, None))
        return payload if chat == chat_id else None


class Bridge:
    """The handlers, with what they share: settings, the sender, Rasa and button payloads."""

    def __init__(self, settings: Settings, sender: TelegramSender, rasa: RasaClient) -> None:
        self.settings = settings
        self.sender = sender
        self.rasa = rasa
        self.payloads = Payloads()

    # --- helpers -------------------------------------------------------------------------

    async def reply(self, chat_id: int, text: str, buttons: Buttons | None = None) -> None:
        """Send through the one sender; a chat that blocked the bot is marked unreachable."""
        try:
            await self.sender.send(str(chat_id), text, buttons or [])
        except Unreachable:
            log.info("a chat blocked the bot; marked unreachable")
            await _db(lambda db: enrolment.mark_unreachable(db, channel=CHANNEL,
                                                             chat_id=str(chat_id)))

    async def edit(self, update: Update, text: str | None) -> None:
        """Replace the pressed message's text (None: keep it) and remove its buttons."""
        query, chat = update.callback_query, update.effective_chat
        message = query.message if query else None
        if message is None or chat is None:
            return
        try:
            await self.sender.edit(str(chat.id), message.message_id, text)
        except Unreachable:
            await _db(lambda db: enrolment.mark_unreachable(db, channel=CHANNEL,
                                                             chat_id=str(chat.id)))

    async def patient(self, chat_id: int) -> Patient | None:
        return await _db(lambda db: enrolment.linked_patient(db, CHANNEL, str(chat_id)))

    async def linked(self, update: Update) -> tuple[int, Patient | None]:
        """The chat and its patient; an unlinked chat hears how to join (and nothing else)."""
        chat = update.effective_chat
        assert chat is not None
        patient = await self.patient(chat.id)
        if patient is None:
            await self.reply(chat.id, JOIN)
        return chat.id, patient

    async def converse(self, chat_id: int, patient: Patient, text: str) -> None:
        """One chat turn through Rasa; its answers (and their buttons) back to the chat."""
        for reply in await conversation.turn(self.rasa, patient, text):
            await self.reply(chat_id, reply.text or "Please choose:",
                             self._buttons(chat_id, reply))

    def _buttons(self, chat_id: int, reply: Reply) -> Buttons:
        return [[{"text": (b["title"] or b["payload"] or "…")[:64],
                  "data": self.payloads.data(chat_id, b["payload"])}]
                for b in reply.buttons if b["payload"]]

    @staticmethod
    async def answer(update: Update) -> None:
        """Answer the callback query first (Telegram shows a spinner until then); a query
        too old to answer still gets its button handled."""
        assert update.callback_query is not None
        try:
            await update.callback_query.answer()
        except TelegramError as exc:
            log.warning("callback query not answered: %s", type(exc).__name__)

    # --- handlers ------------------------------------------------------------------------

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start CODE`: the notice to agree to before the chat is linked."""
        chat = update.effective_chat
        assert chat is not None
        code = enrolment.normalise("".join(context.args or []))
        if not code:
            patient = await self.patient(chat.id)
            await self.reply(chat.id, ALREADY.format(name=patient.display_name)
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
        await self.answer(update)
        query, chat = update.callback_query, update.effective_chat
        assert query is not None and query.data is not None and chat is not None
        await self.edit(update, None)
        code = query.data.removeprefix("consent:")
        if code == "-":
            await self.reply(chat.id, DECLINED)
            return

        def link(db: Session) -> Patient | None:
            try:
                return enrolment.redeem_code(db, code=code, channel=CHANNEL,
                                             chat_id=str(chat.id))
            except EnrolmentRefused:
                if _linked_by(db, code, chat.id):
                    return None  # "I agree" pressed twice: linked by the first press
                raise

        try:
            patient = await _db(link)
        except EnrolmentRefused as refused:
            await self.reply(chat.id, str(refused))
            return
        if patient is not None:
            log.info("a chat was linked to patient %s", patient.id)
            await self.reply(chat.id, WELCOME.format(name=patient.display_name))

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/stop`: unlink the chat; nothing more is sent to it."""
        chat = update.effective_chat
        assert chat is not None
        await _db(lambda db: enrolment.unlink(db, channel=CHANNEL, chat_id=str(chat.id)))
        await self.reply(chat.id, STOPPED)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/help`: what the assistant can do."""
        chat_id, patient = await self.linked(update)
        if patient is not None:
            await self.reply(chat_id, HELP.format(number=self.settings.emergency_number))

    async def today(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/today`: today's doses, from storage (works while Rasa is down)."""
        chat_id, patient = await self.linked(update)
        if patient is not None:
            await self.reply(chat_id, await _db(lambda db: today_text(db, patient)))

    async def said(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/pause`, `/resume`: the same as saying it in words."""
        message = update.effective_message
        assert message is not None and message.text is not None
        name = message.text.split()[0].lstrip("/").split("@")[0].lower()
        chat_id, patient = await self.linked(update)
        if patient is not None:
            await self.converse(chat_id, patient, SAID.get(name, "help"))

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message: to Rasa for a linked chat, how to join for others."""
        message = update.effective_message
        assert message is not None
        chat_id, patient = await self.linked(update)
        if patient is not None:
            await self.converse(chat_id, patient, message.text or "")

    async def dose_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Taken / Snooze / Skip on a reminder: recorded directly, Rasa not needed."""
        await self.answer(update)
        query, chat = update.callback_query, update.effective_chat
        assert query is not None and query.data is not None and chat is not None
        patient = await self.patient(chat.id)
        if patient is None:
            return
        data, snooze = query.data, self.settings.snooze_minutes
        outcome = await _db(lambda db: apply_dose_button(db, patient_id=patient.id, data=data,
                                                         snooze_minutes=snooze))
        if outcome is None:  # not a dose of this chat's patient: nothing happens
            log.warning("a dose button of no dose of the chat's patient was pressed")
            return
        original = getattr(query.message, "text", None) or ""
        await self.edit(update, f"{original}\n\n{outcome}".strip())

    async def rasa_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button of a Rasa answer: its payload goes to Rasa as the patient's message."""
        await self.answer(update)
        query, chat = update.callback_query, update.effective_chat
        assert query is not None and query.data is not None and chat is not None
        patient = await self.patient(chat.id)
        if patient is None:
            return
        await self.edit(update, None)  # a choice is made once
        payload = self.payloads.payload(chat.id, query.data)
        if payload is None:
            await self.reply(chat.id, EXPIRED_CHOICE)
            return
        await self.converse(chat.id, patient, payload)

    async def other_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any other button (an old keyboard): answered, and nothing else."""
        await self.answer(update)

    async def unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice, files: a polite word."""
        chat_id, patient = await self.linked(update)
        if patient is not None:
            await self.reply(chat_id, UNSUPPORTED)

    async def edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Edited messages are not read again."""
        chat_id, patient = await self.linked(update)
        if patient is not None:
            await self.reply(chat_id, EDITED)

    async def group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command in a group: a polite pointer to a private chat, nothing about anyone."""
        if update.effective_chat:
            await self.reply(update.effective_chat.id, GROUPS)

    async def membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The user blocked the bot: the chat is unreachable (the care team is told)."""
        change, chat = update.my_chat_member, update.effective_chat
        if change and chat and change.new_chat_member.status == ChatMember.BANNED:
            log.info("a chat blocked the bot; marked unreachable")
            await _db(lambda db: enrolment.mark_unreachable(db, channel=CHANNEL,
                                                             chat_id=str(chat.id)))

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure's traceback, without the update's content (it may hold health
        data)."""
        kind = type(update).__name__
        if isinstance(update, Update):
            kind = next((name for name in ALLOWED_UPDATES if getattr(update, name, None)), kind)
        log.error("handling a %s update failed", kind, exc_info=context.error)


def _linked_by(db: Session, code: str, chat_id: int) -> bool:
    """Whether this chat is linked to the patient the (used) code was for."""
    row = db.exec(select(EnrolmentCode).where(
        EnrolmentCode.code_hash == enrolment.code_hash(code))).first()
    link = enrolment.active_link(db, CHANNEL, str(chat_id))
    return bool(row and link and link.patient_id == row.patient_id
                and row.used_at and (utcnow() - row.used_at).total_seconds() < 600)


def build_application(settings: Settings, rasa: RasaClient | None = None) -> App:
    """The PTB application with every handler, on the configured Bot API."""
    if settings.telegram_token is None:
        raise RuntimeError("CARELOOP_TELEGRAM_TOKEN is not set")
    application = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_api_url.replace("/bot", "/file/bot"))
        .request(HTTPXRequest(connection_pool_size=64, connect_timeout=5, read_timeout=10,
                              write_timeout=10, pool_timeout=10))
        .get_updates_request(HTTPXRequest(read_timeout=40))  # outlasts the long poll
        .concurrent_updates(PerChatOrder())
        .build())
    bridge = Bridge(settings, TelegramSender.from_settings(settings, application.bot),
                    rasa or RasaClient(settings.rasa_url, settings.rasa_timeout_seconds))
    application.bot_data["bridge"] = bridge
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE
    application.add_handlers([
        CommandHandler("start", bridge.start, filters=private),
        CommandHandler("stop", bridge.stop, filters=private),
        CommandHandler("help", bridge.help, filters=private),
        CommandHandler("today", bridge.today, filters=private),
        CommandHandler(list(SAID), bridge.said, filters=private),
        CallbackQueryHandler(bridge.consent, pattern=r"^consent:"),
        CallbackQueryHandler(bridge.dose_button, pattern=r"^dose:"),
        CallbackQueryHandler(bridge.rasa_button, pattern=r"^[rk]:"),
        CallbackQueryHandler(bridge.other_button),
        MessageHandler(private & new & filters.TEXT, bridge.text),  # unknown /commands too
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, bridge.edited),
        MessageHandler(private & new, bridge.unsupported),
        MessageHandler(filters.ChatType.GROUPS & new & filters.COMMAND, bridge.group),
        ChatMemberHandler(bridge.membership, ChatMemberHandler.MY_CHAT_MEMBER),
    ])
    application.add_error_handler(bridge.error)
    return application


async def register_commands(application: App) -> None:
    """The commands menu; a failure is logged, not fatal (the commands work without it)."""
    try:
        await application.bot.set_my_commands(COMMANDS)
    except TelegramError as exc:
        log.warning("could not register the commands menu: %s", type(exc).__name__)


async def run_bridge(settings: Settings, stop: asyncio.Event) -> None:
    """Serve Telegram until `stop`: long polling, or a webhook with a secret token when
    CARELOOP_WEBHOOK_URL is set (served on 127.0.0.1:CARELOOP_WEBHOOK_PORT at the path
    /telegram, behind the HTTPS proxy that URL reaches)."""
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds)
    application = build_application(settings, rasa)
    updater = application.updater
    assert updater is not None
    try:
        await application.initialize()
        await register_commands(application)
        await application.start()
        if settings.webhook_url:
            await updater.start_webhook(
                listen="127.0.0.1", port=settings.webhook_port, url_path="telegram",
                webhook_url=f"{settings.webhook_url.rstrip('/')}/telegram",
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)
        else:
            await updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=10,
                                        bootstrap_retries=3)
        log.info("bridge started (%s)", "webhook" if settings.webhook_url else "long polling")
        await stop.wait()
    finally:
        if updater.running:
            await updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        await rasa.aclose()
        log.info("bridge stopped")
