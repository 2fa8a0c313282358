"""Recording doses from the chat: taken, skipped, snoozed — the dose the patient means."""

from __future__ import annotations

import json

from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.base import Events, PatientAction, Turn
from assistant import texts
from assistant.config import get_settings
from assistant.domain import parsing
from assistant.domain.doses import Action, Dose, choose, match_medication
from assistant.services import doses
from assistant.services.reminders import outcome
from assistant.storage.models import Patient

INTENT = {Action.taken: "confirm_dose_taken", Action.skip: "skip_dose",
          Action.snooze: "snooze_reminder"}


class DoseAction(PatientAction):
    """Applies `answer` to the dose the patient most plausibly means, or asks which."""

    answer = Action.taken

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        candidates = doses.answerable(db, patient.id)
        chosen = choose(candidates, turn.entities.get("medication") or self._named(
            turn.text, candidates))
        if not chosen:
            dispatcher.utter_message(text=texts.t("dose.nothing_waiting", patient.language))
        elif len(chosen) > 1:
            dispatcher.utter_message(text=texts.t("dose.which", patient.language), buttons=[
                {"title": d.medication.label,
                 "payload": f"/{INTENT[self.answer]}"
                            + json.dumps({"medication": d.medication.name})}
                for d in chosen])
        else:
            minutes = parsing.parse_duration(turn.text, get_settings().snooze_minutes)
            recorded = doses.record(db, chosen[0], self.answer, source="chat",
                                    snooze_minutes=minutes)
            dispatcher.utter_message(text=outcome(chosen[0].medication, self.answer,
                                                  recorded=recorded, snooze_minutes=minutes,
                                                  language=patient.language))
        return []

    @staticmethod
    def _named(text: str, candidates: list[Dose]) -> str | None:
        """A medication named in the text even when NLU tagged none ('took my metfromin')."""
        meds = [d.medication for d in candidates]
        for word in text.lower().split():
            if len(word) >= 4 and match_medication(word, meds):
                return word
        return None


class ActionConfirmDose(DoseAction):
    action_name = "action_confirm_dose"
    answer = Action.taken


class ActionSkipDose(DoseAction):
    action_name = "action_skip_dose"
    answer = Action.skip


class ActionSnoozeDose(DoseAction):
    action_name = "action_snooze_dose"
    answer = Action.snooze
