"""What patients report: readings, symptoms, emergencies and questions for the team."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.base import Events, PatientAction, Turn
from assistant import texts
from assistant.domain import parsing, safety
from assistant.domain.findings import Direction
from assistant.services import alerts, readings, teams
from assistant.storage.models import AlertKind, Patient
from assistant.texts import formats


class ActionLogMeasurement(PatientAction):
    action_name = "action_log_measurement"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        lang = patient.language
        try:
            found = parsing.parse_measurement(turn.text)
        except parsing.Implausible as exc:
            dispatcher.utter_message(text=texts.t("reading.implausible", lang,
                                                  problem=_problem(exc, lang)))
            return []
        if found is None:
            dispatcher.utter_message(text=texts.t("reading.unreadable", lang))
            return []
        reading = readings.record(db, patient=patient, kind=found.kind, value=found.value,
                                  value2=found.value2)
        said = texts.t("reading.saved", lang, reading=_said(found, lang))
        urgent = readings.urgent(db, patient, reading)
        if urgent is not None:  # what to do now, beside "your care team can see it"
            number = safety.emergency_number(teams.get_team(db, patient.team_id))
            low_sugar = found.kind == "glucose" and urgent == Direction.low
            said += " " + texts.t("reading.urgent_low_sugar" if low_sugar else "reading.urgent",
                                  lang, number=number)
        dispatcher.utter_message(text=said)
        return []


class ActionReportSymptom(PatientAction):
    action_name = "action_report_symptom"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        alerts.raise_alert(db, patient=patient, kind=AlertKind.symptom,
                           summary=texts.t("alert.symptom", text=turn.text))
        number = safety.emergency_number(teams.get_team(db, patient.team_id))
        dispatcher.utter_message(text=texts.t("symptom.reported", patient.language,
                                              number=number))
        return []


class ActionEmergency(PatientAction):
    action_name = "action_emergency"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        readings.keep_from_text(db, patient, turn.text)
        dispatcher.utter_message(text=alerts.raise_emergency(db, patient, turn.text))
        return []


class ActionRelayToCareTeam(PatientAction):
    action_name = "action_relay_to_care_team"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        dispatcher.utter_message(text=alerts.relay_question(db, patient, turn.text))
        return []


# The catalog's name of each measure a patient may write.
MEASURE_NAMES = {"systolic": "measure.systolic", "diastolic": "measure.diastolic",
                 "glucose": "measure.glucose", "weight": "measure.weight",
                 "pulse": "measure.pulse", "temperature": "measure.temperature",
                 "spo2": "measure.spo2"}


def _number(value: float, language: str) -> str:
    """A value with the decimals the patient wrote, as their language writes it: '6,5'."""
    written = f"{value:g}"
    decimals = len(written.split(".")[1]) if "." in written and "e" not in written else 0
    return formats.number(value, language, decimals=decimals)


def _problem(exc: parsing.Implausible, language: str) -> str:
    if exc.measure is None or exc.value is None:
        return texts.t("reading.bp_order", language)
    return texts.t("reading.unusual", language, value=_number(exc.value, language),
                   measure=texts.t(MEASURE_NAMES[exc.measure], language))


def _said(found: parsing.Measurement, language: str) -> str:
    if found.kind == "blood_pressure":
        return texts.t("reading.bp", language, systolic=f"{found.value:.0f}",
                       diastolic=f"{found.value2:.0f}")
    return texts.t("reading.value", language, value=_number(found.value, language),
                   measure=texts.t(MEASURE_NAMES[found.kind], language), unit=found.unit)
