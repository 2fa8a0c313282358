"""One chat turn for a linked patient, whatever the channel (Telegram or console).

The emergency guard runs first, then the diagnosis guard (such questions go to the care
team); otherwise the message goes to Rasa, whose answers that name a catalog text
(`msg:<id>`, as the responses of its domain do) are given in the catalog's words. While
Rasa starts, the message is held for it (see `RasaClient`); when Rasa or the action
server is slow or down, the patient hears so, with the emergency number, and that their
reminders still work.
"""
from __future__ import annotations

import asyncio
import logging
import time

from assistant import metrics, texts
from assistant.conversation.rasa_client import OnHold, RasaClient, RasaUnavailable, Reply
from assistant.domain import safety
from assistant.services import alerts, readings
from assistant.storage.db import get_row, session, utcnow
from assistant.storage.models import CareTeam, Patient

log = logging.getLogger(__name__)

MAX_TEXT = 2000


def is_urgent(text: str) -> bool:
    """A possible emergency: answered at once, never queued behind the chat's other turns."""
    return safety.is_red_flag(text.strip()[:MAX_TEXT])


def unavailable(team: CareTeam | None, language: str | None = None) -> str:
    """The fallback while the assistant cannot answer, with the team's emergency number,
    in the patient's language."""
    return texts.t("conversation.unavailable", language, number=safety.emergency_number(team))


def _rendered(reply: Reply, language: str) -> Reply:
    """Rasa's answer in the catalog's words of the patient's language: its domain names
    texts and button titles as `msg:<id>`; what the actions say is in words already."""
    return Reply(texts.render(reply.text, language),
                 [{**button, "title": texts.render(button["title"], language)}
                  for button in reply.buttons])


def _unavailable(team_id: int, language: str) -> str:
    with session() as db:
        return unavailable(db.get(CareTeam, team_id), language)


def _emergency(patient_id: int, text: str) -> str:
    """The emergency alert and guidance; a reading the message names is stored too."""
    with session() as db:
        patient = get_row(db, Patient, patient_id, "patient")
        readings.keep_from_text(db, patient, text)
        return alerts.raise_emergency(db, patient, text)


def _relay(patient_id: int, text: str) -> str:
    with session() as db:
        return alerts.relay_question(db, get_row(db, Patient, patient_id, "patient"), text)


def _touch(patient_id: int) -> None:
    with session() as db:
        patient = db.get(Patient, patient_id)
        if patient is not None:
            patient.last_contact_at = utcnow()


async def turn(rasa: RasaClient, patient: Patient, text: str,
               on_hold: OnHold | None = None) -> list[Reply]:
    """The answers to one message; `on_hold` is awaited now and then while it waits for
    Rasa to start (a channel shows "typing")."""
    await asyncio.to_thread(_touch, patient.id)
    if is_urgent(text):
        return [Reply(await asyncio.to_thread(_emergency, patient.id, text.strip()[:MAX_TEXT]))]
    if safety.is_diagnosis_question(text):
        return [Reply(await asyncio.to_thread(_relay, patient.id, text))]
    started = time.monotonic()
    try:
        replies = await rasa.send(patient.chat_ref, text.strip()[:MAX_TEXT], on_hold)
        metrics.RASA_AVAILABLE.set(1)
    except RasaUnavailable as exc:
        log.warning("rasa unavailable for a chat turn: %s", exc)  # no message content
        metrics.RASA_AVAILABLE.set(0)
        replies = []
    metrics.CHAT_TURN.observe(time.monotonic() - started)
    return [_rendered(reply, patient.language) for reply in replies] or [
        Reply(await asyncio.to_thread(_unavailable, patient.team_id, patient.language))]
