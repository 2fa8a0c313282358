"""What patients report: readings, symptoms, emergencies and questions for the team."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.base import Events, PatientAction, Turn
from assistant.config import get_settings
from assistant.domain import parsing, safety
from assistant.services import readings
from assistant.storage.models import Alert, AlertKind, AlertSeverity, CareTeam, Patient


def _team_alert(db: Session, patient: Patient, kind: AlertKind, text: str,
                severity: AlertSeverity = AlertSeverity.normal) -> None:
    db.add(Alert(patient_id=patient.id, team_id=patient.team_id, kind=kind, severity=severity,
                 summary=text[:2000]))


class ActionLogMeasurement(PatientAction):
    action_name = "action_log_measurement"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        try:
            found = parsing.parse_measurement(turn.text)
        except parsing.Implausible as exc:
            dispatcher.utter_message(text=f"Hmm, {exc}. Could you check the reading and send it "
                                          "again? I haven't saved it.")
            return []
        if found is None:
            dispatcher.utter_message(text="I couldn't read a measurement there. Try for example "
                                          "'bp 135/85', 'sugar 6.5', 'weight 82 kg' or 'pulse 72'.")
            return []
        readings.record(db, patient=patient, kind=found.kind, value=found.value,
                        value2=found.value2)
        dispatcher.utter_message(text=f"Saved: {found.describe()}. Your care team can see it.")
        return []


class ActionReportSymptom(PatientAction):
    action_name = "action_report_symptom"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        _team_alert(db, patient, AlertKind.symptom, f"Symptom reported: {turn.text}")
        team = db.get(CareTeam, patient.team_id)
        number = (team.emergency_number if team else None) or get_settings().emergency_number
        dispatcher.utter_message(
            text="I'm sorry you're not feeling well. I've passed this on to your care team; "
                 "they usually reply within a working day. If it gets worse, or you are "
                 f"worried, call {number}.")
        return []


class ActionEmergency(PatientAction):
    action_name = "action_emergency"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        dispatcher.utter_message(text=safety.raise_emergency(db, patient))
        return []


class ActionRelayToCareTeam(PatientAction):
    action_name = "action_relay_to_care_team"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        dispatcher.utter_message(text=safety.relay_question(db, patient, turn.text))
        return []
