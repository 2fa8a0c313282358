"""What every channel's chats share: one message of a chat at a time, sending (a chat
gone for good is marked so), the chat's patient, and what is known of the chat while the
database is out of reach (its care team's numbers, its language). `flow.Flow` builds the
patient's side of the chat on it.
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
from assistant.conversation.rasa_client import RasaClient
from assistant.services import alerts, enrolment, readings
from assistant.services.outbox import Buttons, Unreachable
from assistant.storage.db import is_unavailable
from assistant.storage.models import CareTeam, Patient

log = logging.getLogger(__name__)


class Chats:
    """One channel's chats; `chat_id` is the channel's own id of a chat, as text."""

    def __init__(self, channel: Channel, rasa: RasaClient, *, snooze_minutes: int) -> None:
        self.channel = channel
        self.rasa = rasa
        self.snooze_minutes = snooze_minutes
        self._chats: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # lock, users
        # Each chat's care team and language as last seen: its emergency number and crisis
        # line are given from here while the database is out of reach.
        self._teams: dict[str, CareTeam] = {}
        self._languages: dict[str, str] = {}

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
        if patient is not None:
            self._languages[chat_id] = patient.language
        return patient

    async def language(self, chat_id: str, phone: str | None = None) -> str:
        """The chat's language: its patient's, else the phone's (English if unsupported)."""
        try:
            patient = await self._linked(chat_id)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            patient = None
        return patient.language if patient else self._languages.get(
            chat_id, texts.resolve(phone))

    async def _database_down(self, chat_id: str, text: str, phone: str | None = None) -> None:
        """The database is out of reach: a possible emergency gets the guidance at once and
        its alert as soon as the database is back (the message stays in hand until then,
        so that a restart does not lose it); anything else gets the fallback, with the
        emergency number; in the patient's language as last seen, else the phone's."""
        team = self._teams.get(chat_id)
        language = self._languages.get(chat_id) or texts.supported(phone)
        if not conversation.is_urgent(text):
            await self.reply(chat_id, conversation.unavailable(team, language))
            return
        await self.reply(chat_id, alerts.emergency_guidance(team, language))

        def alert(db: Session) -> None:
            patient = enrolment.linked_patient(db, self.channel.name, chat_id)
            if patient is not None:
                readings.keep_from_text(db, patient, text)
                alerts.raise_emergency(db, patient, text)

        await stored(alert)
