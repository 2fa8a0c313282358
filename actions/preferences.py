"""The patient's say over reminders and advice: pause, resume, another time, a tip."""

from __future__ import annotations

from datetime import time

from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.base import Events, PatientAction, Turn
from assistant import texts
from assistant.domain import parsing, zones
from assistant.services import advice, alerts, audit, occurrences
from assistant.storage.db import utcnow
from assistant.storage.models import AlertKind, CareTeam, Patient, PatientStatus
from assistant.texts import formats


class ReminderSwitch(PatientAction):
    """Pause or resume all reminders and advice; the care team sees the status."""

    status = PatientStatus.paused
    reply = ""  # its catalog id

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        patient.status = self.status
        audit.record(db, actor="patient", action=f"reminders.{self.status}",
                     patient_id=patient.id)
        dispatcher.utter_message(text=texts.t(self.reply, patient.language))
        return []


class ActionPauseReminders(ReminderSwitch):
    action_name = "action_pause_reminders"
    status = PatientStatus.paused
    reply = "reminders.paused"


class ActionResumeReminders(ReminderSwitch):
    action_name = "action_resume_reminders"
    status = PatientStatus.active
    reply = "reminders.resumed"


class ActionChangeReminderTime(PatientAction):
    action_name = "action_change_reminder_time"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        wanted = parsing.parse_time_of_day(turn.entities.get("time") or turn.text)
        lang = patient.language
        team = db.get(CareTeam, patient.team_id)
        if wanted and team and team.self_shift_minutes:
            shift = occurrences.shift_reminder(db, patient, to=wanted, actor="patient",
                                            medication=turn.entities.get("medication"),
                                            window_minutes=team.self_shift_minutes)
            if shift:
                names = ", ".join(med.label for med in shift.medications)
                dispatcher.utter_message(text=texts.t(
                    "reminders.moved", lang, medications=names,
                    new=formats.clock(time.fromisoformat(shift.new), lang),
                    old=formats.clock(time.fromisoformat(shift.old), lang)))
                return []
        if wanted:
            summary = texts.t("alert.move_reminder_to", time=f"{wanted:%H:%M}", text=turn.text)
            said = texts.t("reminders.move_asked_to", lang, time=formats.clock(wanted, lang))
        else:
            summary = texts.t("alert.move_reminder", text=turn.text)
            said = texts.t("reminders.move_asked", lang)
        alerts.raise_alert(db, patient=patient, kind=AlertKind.schedule_change, summary=summary)
        dispatcher.utter_message(text=said)
        return []


class ActionRequestAdvice(PatientAction):
    action_name = "action_request_advice"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        item = advice.choose(db, patient)
        if item is None:
            dispatcher.utter_message(text=texts.t("advice.none", patient.language))
            return []
        local_day = utcnow().astimezone(zones.zone(patient.timezone)).date()
        dispatcher.utter_message(text=advice.deliver(db, patient, item, local_day))
        return []
