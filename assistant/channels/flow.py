"""The patient's side of a chat, the same on every channel: how to join, the consent
notice, /stop, buttons, and words for the assistant.

A channel's adapter (telegram/bridge.py, console.py) turns what arrives into these calls,
and every answer leaves through the channel's `send`. Nothing about a patient reaches a
chat before it is linked with a one-time code and the patient agreed to the notice.
Linked chats talk to Rasa (the conversation id is the patient's opaque `chat_ref`, never
the chat's id). Dose buttons are recorded in storage directly, so they work while Rasa is
down. A chat's messages are answered one at a time, in the order they came; a possible
emergency does not wait its turn. Logs carry no message text.

Everything a patient reads is in their profile language (channels/languages.py); before
the chat is linked, in the language of their phone (`language`, e.g. Telegram's
`language_code`) where CareLoop speaks it.

Button data: `consent:<code>` (or `consent:-`) on the notice, `dose:<occurrence>:<action>`
on reminders (services/reminders.py), `confirm:<alert>:<answer>` on a request to re-measure
(services/confirmations.py), `lang:<code>` on the language choice, `r:<payload>` on the
assistant's own choices.
"""

from __future__ import annotations

import contextlib
import logging

from sqlmodel import Session

from assistant import texts
from assistant.channels import languages
from assistant.channels.chats import Chats
from assistant.channels.storage_work import in_thread, stored
from assistant.conversation import chat as conversation
from assistant.conversation.rasa_client import OnHold
from assistant.domain.language_requests import requested
from assistant.errors import EnrolmentRefused
from assistant.services import confirmations, enrolment, member_chats
from assistant.services.doses import apply_dose_button
from assistant.services.outbox import RetryLater, Unreachable
from assistant.storage.db import is_unavailable

log = logging.getLogger(__name__)

# Commands that mean the same as saying it in words (the words are the catalog's).
COMMAND_TEXT = {"today": "command.today", "help": "command.help",
                "pause": "command.pause", "resume": "command.resume"}
CONSENT_DATA, DOSE_DATA, RASA_DATA = "consent:", "dose:", "r:"
CONFIRM_DATA, LANGUAGE_DATA = confirmations.DATA, languages.DATA


class Flow(Chats):
    """One channel's chats: the patient's side; `chat_id` is the channel's own id of a chat,
    as text."""

    # --- joining and leaving -------------------------------------------------------------

    async def start(self, chat_id: str, code: str, language: str | None = None) -> None:
        """`/start CODE`: the notice to agree to before the chat is linked (in the phone's
        `language` where CareLoop speaks it, else the profile's); `/start` alone: how to
        join (or a welcome back). A care-team member's code links their own chat."""
        if await self._member_start(chat_id, code):
            return
        if not code:
            patient = await self.patient(chat_id)
            await self.reply(chat_id, texts.t("join.welcome", patient.language,
                                              name=patient.display_name)
                             if patient else texts.t("join.hello", language))
            return
        try:
            patient = await stored(lambda db: enrolment.check_code(
                db, code=code, chat_id=chat_id, language=language))
        except EnrolmentRefused as refused:
            await self.reply(chat_id, str(refused))
            return
        said = texts.supported(language) or patient.language
        await self.reply(chat_id, texts.t("join.consent", said), [[
            {"text": texts.t("join.agree", said), "data": CONSENT_DATA + code},
            {"text": texts.t("join.decline", said), "data": CONSENT_DATA + "-"}]])

    async def _member_start(self, chat_id: str, code: str) -> bool:
        """The members' side of `/start`: a member's code links the chat to them, and a
        member's chat gets its short text (never a patient's notice). False: not a member's
        code nor a member's chat."""
        channel = self.channel.name

        def answer(db: Session) -> str | None:
            member = member_chats.redeem(db, code=code, channel=channel,
                                         chat_id=chat_id) if code else None
            if member is not None:
                return texts.t("member.linked", name=member.name)
            return (texts.t("member.chat") if member_chats.linked_member(db, channel, chat_id)
                    else None)

        text = await stored(answer)
        if text is not None:
            await self.reply(chat_id, text)
        return text is not None

    async def consent(self, chat_id: str, data: str, language: str | None = None) -> None:
        """The notice's buttons: agreeing links the chat to the patient, welcomed in their
        profile language and offered their phone's `language` if it is another."""
        code = data.removeprefix(CONSENT_DATA)
        if code == "-":
            await self.reply(chat_id, texts.t("join.declined", language))
            return
        channel = self.channel.name
        try:
            previous = await stored(lambda db: enrolment.moving_from(
                db, code=code, channel=channel, chat_id=chat_id, language=language))
            # The chat the patient used until now hears of the move while it is linked.
            told = previous is not None and await self._tell_moved(*previous)
            patient = await stored(lambda db: enrolment.redeem_code(
                db, code=code, channel=channel, chat_id=chat_id, previous_told=told,
                language=language))
        except EnrolmentRefused as refused:
            await self.reply(chat_id, str(refused))
            return
        log.info("chat linked to patient %s", patient.id)
        await self.reply(chat_id, texts.t("join.welcome", patient.language,
                                          name=patient.display_name))
        if offered := languages.offer(patient.language, language):
            await self.reply(chat_id, *offered)

    async def _tell_moved(self, channel: str, chat_id: str, language: str) -> bool:
        """Tell a patient's previous chat that their reminders move; False if it cannot be
        (a chat on another channel is out of this one's reach: the team's alert says so)."""
        if channel != self.channel.name:
            return False
        try:
            await self.channel.send(chat_id, texts.t("join.moved", language,
                                                     channel=channel.title()), [])
        except (Unreachable, RetryLater):  # blocked, or the channel kept failing
            return False
        return True

    async def stop(self, chat_id: str) -> None:
        """`/stop`: unlink the chat; nothing more is sent to it (a member's chat too)."""
        channel = self.channel.name

        def unlink(db: Session) -> str:
            member = member_chats.linked_member(db, channel, chat_id)
            if member is not None:
                member_chats.unlink(db, member_id=member.id, actor=f"member:{member.id}")
                return texts.t("member.stopped")
            patient = enrolment.unlink(db, channel=channel, chat_id=chat_id)
            return texts.t("join.stopped", patient.language if patient else None)

        await self.reply(chat_id, await stored(unlink))

    # --- words and buttons ---------------------------------------------------------------

    async def text(self, chat_id: str, text: str, on_hold: OnHold | None = None,
                   language: str | None = None) -> None:
        """Words: to the assistant for a linked chat (a request for another language is
        answered here), how to join for others. `on_hold` is awaited now and then while the
        message waits for Rasa to start ("typing")."""
        urgent = conversation.is_urgent(text)
        async with contextlib.nullcontext() if urgent else self.one_at_a_time(chat_id):
            try:
                patient = await self._linked(chat_id)
                if patient is None:  # a member's chat never reaches the assistant
                    member = await in_thread(lambda db: member_chats.linked_member(
                        db, self.channel.name, chat_id))
                    await self.reply(chat_id, texts.t("member.chat") if member
                                     else texts.t("join.hello", language))
                    return
                if not urgent and (wanted := requested(text)):
                    await self.choose_language(chat_id, LANGUAGE_DATA + wanted)
                    return
                replies = await conversation.turn(self.rasa, patient, text, on_hold)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                log.warning("database unavailable for a chat turn (%s)", type(exc).__name__)
                await self._database_down(chat_id, text, language)
                return
            for reply in replies:
                buttons = [[{"text": b["title"], "data": RASA_DATA + b["payload"]}]
                           for b in reply.buttons]
                await self.reply(chat_id, reply.text or texts.t("chat.choose", patient.language),
                                 buttons)

    async def command(self, chat_id: str, name: str, on_hold: OnHold | None = None,
                      language: str | None = None) -> None:
        """/language: the choice of languages; /today, /help, /pause, /resume: the same as
        saying it in words (the English words: their meaning does not depend on how well
        the assistant understands the patient's language; it answers in theirs)."""
        patient = await self.patient(chat_id) if name == "language" else None
        if patient is not None:
            await self.reply(chat_id, *languages.menu(patient.language))
            return
        await self.text(chat_id, texts.t(COMMAND_TEXT.get(name, "command.help")), on_hold,
                        language)

    async def choose_language(self, chat_id: str, data: str,
                              language: str | None = None) -> None:
        """A language chosen (`lang:<code>`): saved in the patient's profile and confirmed in
        it; the choice again when CareLoop does not speak it; how to join in a chat no
        longer linked."""
        channel, code = self.channel.name, data.removeprefix(LANGUAGE_DATA)
        patient = await stored(lambda db: languages.save(db, channel=channel,
                                                         chat_id=chat_id, code=code))
        if patient is None:
            await self.reply(chat_id, texts.t("join.hello", language))
        elif patient.language != texts.supported(code):
            await self.reply(chat_id, *languages.menu(patient.language))
        else:
            self._languages[chat_id] = patient.language
            await self.reply(chat_id, texts.t("language.changed", patient.language))

    async def message(self, chat_id: str, text: str, on_hold: OnHold | None = None) -> None:
        """A message as typed on a channel without commands of its own: `/start CODE`,
        `/stop` and the other commands, or words."""
        if not text.startswith("/"):
            await self.text(chat_id, text, on_hold)
            return
        name, *args = text[1:].split() or [""]
        if name == "start":
            await self.start(chat_id, (args or [""])[0])
        elif name == "stop":
            await self.stop(chat_id)
        else:
            await self.command(chat_id, name, on_hold)

    async def rasa_button(self, chat_id: str, data: str, on_hold: OnHold | None = None) -> None:
        """A choice from the assistant's answer: its payload goes to Rasa as the message."""
        await self.text(chat_id, data.removeprefix(RASA_DATA) or "help", on_hold)

    async def dose_button(self, chat_id: str, data: str) -> str | None:
        """Taken / Snooze / Skip on a reminder, recorded directly (Rasa not needed): the
        outcome to show, or None when it is not a dose of this chat's patient."""
        channel, snooze = self.channel.name, self.snooze_minutes

        def record(db: Session) -> str | None:
            patient = enrolment.linked_patient(db, channel, chat_id)
            return apply_dose_button(db, patient_id=patient.id, data=data, snooze_minutes=snooze,
                                     language=patient.language) if patient else None

        return await stored(record)

    async def confirm_button(self, chat_id: str, data: str) -> confirmations.Answer | None:
        """A button of a request to re-measure, recorded directly (Rasa not needed): what to
        tell the patient, or None when it is not an alert of this chat's patient."""
        channel = self.channel.name

        def record(db: Session) -> confirmations.Answer | None:
            patient = enrolment.linked_patient(db, channel, chat_id)
            return confirmations.answer(db, patient=patient, data=data) if patient else None

        return await stored(record)

    async def unsupported(self, chat_id: str, language: str | None = None) -> None:
        """Stickers, photos, voice, files: a polite word."""
        said = await self.language(chat_id, language)
        await self.reply(chat_id, texts.t("chat.unsupported", said))

    async def edited(self, chat_id: str, language: str | None = None) -> None:
        """Edited messages are not re-read."""
        said = await self.language(chat_id, language)
        await self.reply(chat_id, texts.t("chat.edited", said))
