"""The patient's side of a chat, the same on every channel: how to join, the consent
notice, /stop, buttons, and words for the assistant.

A channel's adapter (telegram/bridge.py, console.py) turns what arrives into these calls,
and every answer leaves through the channel's `send`. Nothing about a patient reaches a
chat before it is linked with a one-time code and the patient agreed to the notice.
Linked chats talk to Rasa (the conversation id is the patient's opaque `chat_ref`, never
the chat's id). Dose buttons are recorded in storage directly, so they work while Rasa is
down. A chat's messages are answered one at a time, in the order they came; a possible
emergency does not wait its turn. Logs carry no message text.

Button data: `consent:<code>` (or `consent:-`) on the notice, `dose:<occurrence>:<action>`
on reminders (services/reminders.py), `confirm:<alert>:<answer>` on a request to re-measure
(services/confirmations.py), `r:<payload>` on the assistant's own choices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlmodel import Session

from assistant import texts
from assistant.channels.base import Channel
from assistant.channels.storage_work import in_thread, stored
from assistant.conversation import chat as conversation
from assistant.conversation.rasa_client import OnHold, RasaClient
from assistant.errors import EnrolmentRefused
from assistant.services import alerts, confirmations, enrolment, member_chats
from assistant.services.doses import apply_dose_button
from assistant.services.outbox import Buttons, RetryLater, Unreachable
from assistant.storage.db import is_unavailable
from assistant.storage.models import CareTeam, Patient

log = logging.getLogger(__name__)

# Commands that mean the same as saying it in words (the words are the catalog's).
COMMAND_TEXT = {"today": "command.today", "help": "command.help",
                "pause": "command.pause", "resume": "command.resume"}
CONSENT_DATA, DOSE_DATA, RASA_DATA = "consent:", "dose:", "r:"
CONFIRM_DATA = confirmations.DATA
class Flow:
    """One channel's chats; `chat_id` is the channel's own id of a chat, as text."""

    def __init__(self, channel: Channel, rasa: RasaClient, *, snooze_minutes: int) -> None:
        self.channel = channel
        self.rasa = rasa
        self.snooze_minutes = snooze_minutes
        self._chats: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # lock, users
        # Each chat's care team as last seen: its emergency number and crisis line are
        # given from here while the database is out of reach.
        self._teams: dict[str, CareTeam] = {}

    @contextlib.asynccontextmanager
    async def one_at_a_time(self, chat_id: str) -> AsyncIterator[None]:
        """A chat's messages are answered one after the other, in the order they came."""
        lock, users = self._chats.setdefault(chat_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._chats[chat_id]

    async def reply(self, chat_id: str, text: str, buttons: Buttons | None = None) -> None:
        """Send to the chat; a chat that is gone for good is marked so (the team is told)."""
        try:
            await self.channel.send(chat_id, text, buttons or [])
        except Unreachable:
            channel = self.channel.name
            await stored(lambda db: enrolment.mark_unreachable(db, channel=channel,
                                                                 chat_id=chat_id))

    async def patient(self, chat_id: str) -> Patient | None:
        """The chat's patient (waiting for a database out of reach)."""
        return await stored(lambda db: enrolment.linked_patient(db, self.channel.name,
                                                                 chat_id))

    async def _linked(self, chat_id: str) -> Patient | None:
        """The chat's patient, noting their care team."""

        def find(db: Session) -> tuple[Patient | None, CareTeam | None]:
            patient = enrolment.linked_patient(db, self.channel.name, chat_id)
            return patient, db.get(CareTeam, patient.team_id) if patient else None

        patient, team = await in_thread(find)
        if team is not None:
            self._teams[chat_id] = team
        return patient

    async def _database_down(self, chat_id: str, text: str) -> None:
        """The database is out of reach: a possible emergency gets the guidance at once and
        its alert as soon as the database is back (the message stays in hand until then,
        so that a restart does not lose it); anything else gets the fallback, with the
        emergency number."""
        team = self._teams.get(chat_id)
        if not conversation.is_urgent(text):
            await self.reply(chat_id, conversation.unavailable(team))
            return
        await self.reply(chat_id, alerts.emergency_guidance(team))

        def alert(db: Session) -> None:
            patient = enrolment.linked_patient(db, self.channel.name, chat_id)
            if patient is not None:
                alerts.raise_emergency(db, patient)

        await stored(alert)

    # --- joining and leaving -------------------------------------------------------------

    async def start(self, chat_id: str, code: str) -> None:
        """`/start CODE`: the notice to agree to before the chat is linked; `/start` alone:
        how to join (or a welcome back). A care-team member's code links their own chat."""
        if await self._member_start(chat_id, code):
            return
        if not code:
            patient = await self.patient(chat_id)
            await self.reply(chat_id, texts.t("join.welcome", name=patient.display_name)
                             if patient else texts.t("join.hello"))
            return
        try:
            await stored(lambda db: enrolment.check_code(db, code=code, chat_id=chat_id))
        except EnrolmentRefused as refused:
            await self.reply(chat_id, str(refused))
            return
        await self.reply(chat_id, texts.t("join.consent"), [[
            {"text": texts.t("join.agree"), "data": CONSENT_DATA + code},
            {"text": texts.t("join.decline"), "data": CONSENT_DATA + "-"}]])

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

    async def consent(self, chat_id: str, data: str) -> None:
        """The notice's buttons: agreeing links the chat to the patient."""
        code = data.removeprefix(CONSENT_DATA)
        if code == "-":
            await self.reply(chat_id, texts.t("join.declined"))
            return
        channel = self.channel.name
        try:
            previous = await stored(lambda db: enrolment.moving_from(
                db, code=code, channel=channel, chat_id=chat_id))
            # The chat the patient used until now hears of the move while it is linked.
            told = previous is not None and await self._tell_moved(previous.channel,
                                                                   previous.chat_id)
            patient = await stored(lambda db: enrolment.redeem_code(
                db, code=code, channel=channel, chat_id=chat_id, previous_told=told))
        except EnrolmentRefused as refused:
            await self.reply(chat_id, str(refused))
            return
        log.info("chat linked to patient %s", patient.id)
        await self.reply(chat_id, texts.t("join.welcome", name=patient.display_name))

    async def _tell_moved(self, channel: str, chat_id: str) -> bool:
        """Tell a patient's previous chat that their reminders move; False if it cannot be
        (a chat on another channel is out of this one's reach: the team's alert says so)."""
        if channel != self.channel.name:
            return False
        try:
            await self.channel.send(chat_id, texts.t("join.moved", channel=channel.title()), [])
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
                return "member.stopped"
            enrolment.unlink(db, channel=channel, chat_id=chat_id)
            return "join.stopped"

        await self.reply(chat_id, texts.t(await stored(unlink)))

    # --- words and buttons ---------------------------------------------------------------

    async def text(self, chat_id: str, text: str, on_hold: OnHold | None = None) -> None:
        """Words: to the assistant for a linked chat, how to join for others. `on_hold` is
        awaited now and then while the message waits for Rasa to start ("typing")."""
        urgent = conversation.is_urgent(text)
        async with contextlib.nullcontext() if urgent else self.one_at_a_time(chat_id):
            try:
                patient = await self._linked(chat_id)
                if patient is None:  # a member's chat never reaches the assistant
                    member = await in_thread(lambda db: member_chats.linked_member(
                        db, self.channel.name, chat_id))
                    await self.reply(chat_id, texts.t("member.chat" if member else "join.hello"))
                    return
                replies = await conversation.turn(self.rasa, patient, text, on_hold)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                log.warning("database unavailable for a chat turn (%s)", type(exc).__name__)
                await self._database_down(chat_id, text)
                return
            for reply in replies:
                buttons = [[{"text": b["title"], "data": RASA_DATA + b["payload"]}]
                           for b in reply.buttons]
                await self.reply(chat_id, reply.text or texts.t("chat.choose"), buttons)

    async def command(self, chat_id: str, name: str, on_hold: OnHold | None = None) -> None:
        """/today, /help, /pause, /resume: the same as saying it in words."""
        await self.text(chat_id, texts.t(COMMAND_TEXT.get(name, "command.help")), on_hold)

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
            return apply_dose_button(db, patient_id=patient.id, data=data,
                                     snooze_minutes=snooze) if patient else None

        return await stored(record)

    async def confirm_button(self, chat_id: str, data: str) -> confirmations.Answer | None:
        """A button of a request to re-measure, recorded directly (Rasa not needed): what to
        tell the patient, or None when it is not an alert of this chat's patient."""
        channel = self.channel.name

        def record(db: Session) -> confirmations.Answer | None:
            patient = enrolment.linked_patient(db, channel, chat_id)
            return confirmations.answer(db, patient=patient, data=data) if patient else None

        return await stored(record)

    async def unsupported(self, chat_id: str) -> None:
        """Stickers, photos, voice, files: a polite word."""
        await self.reply(chat_id, texts.t("chat.unsupported"))

    async def edited(self, chat_id: str) -> None:
        """Edited messages are not re-read."""
        await self.reply(chat_id, texts.t("chat.edited"))
