"""The Telegram bridge: python-telegram-bot's updates turned into `flow.Flow` calls, and
the application run until stopped (long polling, or a webhook with a secret token).

Only private chats are heard. Updates are handled concurrently (a message held while
Rasa starts must not hold up everyone else's buttons; the flow keeps each chat's
messages in order), and every button press is answered. In webhook mode (webhook.py)
several bridges behind a load balancer handle each update once. The bridge waits for an
unreachable Bot API without crashing, and stops within a few seconds whatever Telegram
does. Telegram is told an update was received only once it has been handled
(`polling.poll`): a bridge killed mid-turn gets the message again when it restarts. Logs carry
no message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from telegram import Bot, BotCommand, Update
from telegram.constants import ChatAction
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from assistant import texts
from assistant.channels import flow as flows
from assistant.channels.flow import Flow
from assistant.channels.telegram import webhook
from assistant.channels.telegram.polling import (
    ALLOWED_UPDATES,
    RETRY_SECONDS,
    Handling,
    after,
    or_stop,
    poll,
)
from assistant.config import Settings
from assistant.conversation.rasa_client import OnHold

log = logging.getLogger(__name__)
STOP_SECONDS = 2.0  # stopping waits this long for the replies in hand to be sent

# Telegram's command menu, described in each language (the phone's language picks it).
MENU = {"today": "menu.today", "help": "menu.help", "pause": "menu.pause",
        "resume": "menu.resume", "language": "menu.language", "stop": "menu.stop"}
Context = ContextTypes.DEFAULT_TYPE


def commands(language: str) -> list[BotCommand]:
    return [BotCommand(name, texts.t(msgid, language)) for name, msgid in MENU.items()]


def _chat(update: Update) -> str | None:
    return str(update.effective_chat.id) if update.effective_chat else None


def _phone(update: Update) -> str | None:
    """The language the user's Telegram is set to ('es', 'pt-br'), if it says."""
    return update.effective_user.language_code if update.effective_user else None


class Bridge:
    """The handlers: each reads its update and hands it to the flow."""

    def __init__(self, flow: Flow, bot: Bot, button_data: Callable[[str], str]) -> None:
        self.flow = flow
        self.bot = bot
        self.button_data = button_data  # a pressed button's data as it was sent

    def typing(self, chat_id: str) -> OnHold:
        """Shows "typing" in the chat, while its message waits for Rasa to start."""

        async def typing() -> None:
            with contextlib.suppress(TelegramError):
                await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

        return typing

    async def start(self, update: Update, context: Context) -> None:
        """`/start CODE`: show the notice to agree to before the chat is linked."""
        if chat := _chat(update):
            await self.flow.start(chat, (context.args or [""])[0], _phone(update))

    async def stop(self, update: Update, context: Context) -> None:
        """`/stop`: unlink the chat; nothing more is sent to it."""
        if chat := _chat(update):
            await self.flow.stop(chat)

    async def command(self, update: Update, context: Context) -> None:
        """/language: the choice of languages; /today, /help, /pause, /resume: the same as
        saying it in words."""
        message, chat = update.effective_message, _chat(update)
        if chat and message and message.text:
            name = message.text.split()[0].lstrip("/").split("@")[0]
            await self.flow.command(chat, name, self.typing(chat), _phone(update))

    async def text(self, update: Update, context: Context) -> None:
        """A text message: to Rasa for a linked chat, how to join for others."""
        message, chat = update.effective_message, _chat(update)
        if chat and message:
            await self.flow.text(chat, message.text or "", self.typing(chat), _phone(update))

    async def consent(self, update: Update, context: Context) -> None:
        """The notice's buttons: agreeing links the chat to the patient."""
        query, chat = update.callback_query, _chat(update)
        if query is None or query.data is None or chat is None:
            return
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        await self.flow.consent(chat, query.data, _phone(update))

    async def language(self, update: Update, context: Context) -> None:
        """A language chosen with its button: saved, and confirmed in it."""
        query, chat = update.callback_query, _chat(update)
        if query is None or query.data is None or chat is None:
            return
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        await self.flow.choose_language(chat, query.data, _phone(update))

    async def dose_button(self, update: Update, context: Context) -> None:
        """Taken / Snooze / Skip on a reminder: recorded directly, Rasa not needed."""
        query, chat = update.callback_query, _chat(update)
        if query is None or query.data is None or chat is None:
            return
        await query.answer()
        outcome = await self.flow.dose_button(chat, query.data)
        if outcome is None:
            await query.edit_message_reply_markup(reply_markup=None)
            return
        original = query.message.text if query.message and hasattr(query.message, "text") else ""
        await query.edit_message_text(f"{original}\n\n{outcome}".strip(), reply_markup=None)

    async def confirm_button(self, update: Update, context: Context) -> None:
        """A request to re-measure: the answer recorded directly, Rasa not needed; its buttons
        stay until the question is over (heart failure asks two more)."""
        query, chat = update.callback_query, _chat(update)
        if query is None or query.data is None or chat is None:
            return
        await query.answer()
        answer = await self.flow.confirm_button(chat, query.data)
        if answer is None or answer.done:
            await query.edit_message_reply_markup(reply_markup=None)
        if answer is not None:
            await self.flow.reply(chat, answer.text)

    async def rasa_button(self, update: Update, context: Context) -> None:
        """A button from a Rasa answer: its payload goes to Rasa as the patient's message."""
        query, chat = update.callback_query, _chat(update)
        if query is None or query.data is None or chat is None:
            return
        await query.answer()
        data = self.button_data(query.data)
        await query.edit_message_reply_markup(reply_markup=None)
        await self.flow.rasa_button(chat, data, self.typing(chat))

    async def unsupported(self, update: Update, context: Context) -> None:
        """Stickers, photos, voice, files: a polite word."""
        if chat := _chat(update):
            await self.flow.unsupported(chat, _phone(update))

    async def edited(self, update: Update, context: Context) -> None:
        """Edited messages are not re-read."""
        if chat := _chat(update):
            await self.flow.edited(chat, _phone(update))

    async def error(self, update: object, context: Context) -> None:
        """Log the failure, without the update's content (it may hold health data)."""
        log.error("handler failed", exc_info=context.error)


def build_application(bot: Bot, bridge: Bridge) -> Application:  # type: ignore[type-arg]
    """The PTB application on `bot`, with every handler registered here."""
    application = ApplicationBuilder().bot(bot).concurrent_updates(Handling()).build()
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE
    application.add_handlers([
        CommandHandler("start", bridge.start, filters=private),
        CommandHandler("stop", bridge.stop, filters=private),
        CommandHandler([*flows.COMMAND_TEXT, "language"], bridge.command, filters=private),
        CallbackQueryHandler(bridge.consent, pattern=rf"^{flows.CONSENT_DATA}"),
        CallbackQueryHandler(bridge.language, pattern=rf"^{flows.LANGUAGE_DATA}"),
        CallbackQueryHandler(bridge.dose_button, pattern=rf"^{flows.DOSE_DATA}"),
        CallbackQueryHandler(bridge.confirm_button, pattern=rf"^{flows.CONFIRM_DATA}"),
        CallbackQueryHandler(bridge.rasa_button, pattern=r"^[rk]:"),
        MessageHandler(private & new & filters.TEXT & ~filters.COMMAND, bridge.text),
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, bridge.edited),
        MessageHandler(private & new & ~filters.TEXT, bridge.unsupported),
    ])
    application.add_error_handler(bridge.error)
    return application


async def _connect(application: Application, stop: asyncio.Event) -> bool:  # type: ignore[type-arg]
    """Reach the Bot API, trying again (with growing pauses) while it is unreachable;
    False when told to stop first."""
    pause = 1.0
    while not stop.is_set():
        try:
            done, _ = await or_stop(application.initialize(), stop)
            if done:  # the English menu for every other language
                for language in texts.languages():
                    await application.bot.set_my_commands(
                        commands(language), language_code=None
                        if language == texts.DEFAULT_LANGUAGE else language)
            return done
        except NetworkError as exc:  # also timeouts; a wrong token is not retried
            log.warning("Telegram Bot API unreachable (%s); trying again in %.0f s",
                        type(exc).__name__, pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        pause = min(pause * 2, RETRY_SECONDS)
    return False


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


async def run(application: Application, settings: Settings,  # type: ignore[type-arg]
              stop: asyncio.Event, *, release: Callable[[], None]) -> None:
    """Serve until `stop`: long polling, or our own webhook server (webhook.py) when a
    public URL is configured. `release` answers the messages still waiting for Rasa, as
    it stops."""
    if not await _connect(application, stop):
        return
    await application.start()
    try:
        if settings.webhook_url:
            await webhook.serve(application, settings, stop, release=release)
        else:
            # Back from webhook mode: Telegram refuses getUpdates while a webhook is set.
            # Its updates still waiting are kept.
            try:
                await application.bot.delete_webhook(drop_pending_updates=False)
            except TelegramError as exc:
                log.warning("could not remove a webhook (%s)", type(exc).__name__)
            log.info("bridge started (long polling)")
            await poll(application, stop)
    finally:
        release()  # messages waiting for Rasa get their answer now
        done, _ = await or_stop(_stop(application), after(STOP_SECONDS))
        if not done:
            log.warning("replies still being sent after %.0f s were dropped", STOP_SECONDS)
    log.info("bridge stopped")
