"""The base of CareLoop's custom actions.

`PatientAction` finds the patient behind the conversation (the sender id is the
patient's opaque `chat_ref`), opens one unit of work and calls `act` in a worker
thread, so database calls never block the action server's event loop. A
conversation that belongs to no enrolled patient reaches no plan data.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session, select

from assistant.storage.db import session
from assistant.storage.models import Patient, PatientStatus

NOT_ENROLLED = ("I don't know you yet. To use CareLoop, ask your care team for an "
                "enrolment code and send it to me.")

Events = list[dict[str, Any]]


@dataclass(frozen=True)
class Turn:
    """What the patient just said: the raw text and the entities Rasa found."""

    text: str
    entities: dict[str, str]

    @classmethod
    def of(cls, tracker: Tracker) -> Turn:
        message = tracker.latest_message or {}
        entities = {e["entity"]: str(e.get("value", "")) for e in message.get("entities") or []
                    if isinstance(e, dict) and "entity" in e}
        return cls(str(message.get("text") or ""), entities)


class PatientAction(Action):
    """Subclasses set `action_name` and implement `act`."""

    action_name = ""

    def name(self) -> str:
        return self.action_name

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        raise NotImplementedError

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> Events:
        return await asyncio.to_thread(self._run, dispatcher, tracker)

    def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
        with session() as db:
            patient = db.exec(select(Patient).where(Patient.chat_ref == tracker.sender_id)).first()
            if patient is None or patient.status == PatientStatus.stopped:
                dispatcher.utter_message(text=NOT_ENROLLED)
                return []
            return self.act(db, patient, Turn.of(tracker), dispatcher)
