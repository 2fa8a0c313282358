"""The base of CareLoop's custom actions.

`PatientAction` finds the patient behind the conversation (the sender id is the
patient's opaque `chat_ref`), opens one unit of work and calls `act` in a worker
thread, so database calls never block the action server's event loop. A
conversation that belongs to no enrolled patient reaches no plan data.

An action that fails (the database out of reach, a bug) says nothing and changes
nothing: the channel then gives its fallback, with the emergency number. Its failure is
logged by type and place. (Left to rasa_sdk, it would answer Rasa with the whole
conversation, which Rasa logs.)

Each run logs one line (the action's name and time) under the trace id the channel sent
with the message (`metadata.trace_id`, see `RasaClient`): the bridge's lines and the
action server's of one message carry the same `trace`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session, select

from assistant import texts
from assistant.logs import trace
from assistant.storage.db import is_unavailable, session
from assistant.storage.models import Patient, PatientStatus

log = logging.getLogger(__name__)

Events = list[dict[str, Any]]
PLAIN = re.compile(r"[A-Za-z0-9._-]{1,64}")  # a trace id as the channels make them


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
        token = trace.set(trace_id(tracker))
        started = time.monotonic()
        try:
            events = await asyncio.to_thread(self._run, dispatcher, tracker)
            log.info("%s done in %.0f ms", self.action_name, (time.monotonic() - started) * 1000)
            return events
        except Exception as exc:  # rolled back: nothing it said happened
            dispatcher.messages.clear()
            if is_unavailable(exc):
                log.warning("%s: database unavailable (%s)", self.action_name,
                            type(exc).__name__)
            else:
                log.error("%s failed: %s at %s", self.action_name, type(exc).__name__,
                          _where(exc))
            return []
        finally:
            trace.reset(token)

    def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
        with session() as db:
            patient = db.exec(select(Patient).where(Patient.chat_ref == tracker.sender_id)).first()
            if patient is None or patient.status == PatientStatus.stopped:
                dispatcher.utter_message(text=texts.t(
                    "join.not_enrolled", patient.language if patient else None))
                return []
            return self.act(db, patient, Turn.of(tracker), dispatcher)


def trace_id(tracker: Tracker) -> str | None:
    """The trace id the channel sent with the patient's message, if it is a plain one."""
    metadata = (tracker.latest_message or {}).get("metadata")
    found = metadata.get("trace_id") if isinstance(metadata, dict) else None
    return found if isinstance(found, str) and PLAIN.fullmatch(found) else None


def _where(exc: BaseException) -> str:
    """Where it failed (file, line, function), innermost first: no values."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
