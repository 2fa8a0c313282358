"""The patient's say over reminders and advice: pause, resume, another time, a tip."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.base import Events, PatientAction, Turn
from assistant import advice, audit, parsing, schedules
from assistant.db import utcnow
from assistant.models import Alert, AlertKind, Patient, PatientStatus


class ActionPauseReminders(PatientAction):
    action_name = "action_pause_reminders"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        patient.status = PatientStatus.paused
        audit.record(db, actor="patient", action="reminders.pause", patient_id=patient.id)
        dispatcher.utter_message(text="Reminders are paused. Say 'resume reminders' when you "
                                      "want them back. Your care team can see they're paused.")
        return []


class ActionResumeReminders(PatientAction):
    action_name = "action_resume_reminders"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        patient.status = PatientStatus.active
        audit.record(db, actor="patient", action="reminders.resume", patient_id=patient.id)
        dispatcher.utter_message(text="Welcome back! Your reminders are on again.")
        return []


class ActionChangeReminderTime(PatientAction):
    action_name = "action_change_reminder_time"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        wanted = parsing.parse_time_of_day(turn.entities.get("time") or turn.text)
        when = f" to {wanted:%H:%M}" if wanted else ""
        db.add(Alert(patient_id=patient.id, team_id=patient.team_id,
                     kind=AlertKind.schedule_change,
                     summary=f"The patient asks to move a reminder{when}: {turn.text}"[:2000]))
        dispatcher.utter_message(
            text=f"I've asked your care team to move your reminder{when}. Dose times are part "
                 "of your treatment, so they confirm changes; until then your reminders stay "
                 "as they are.")
        return []


class ActionRequestAdvice(PatientAction):
    action_name = "action_request_advice"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        item = advice.choose(db, patient)
        if item is None:
            dispatcher.utter_message(text="I have no tips for you yet; your care team can add "
                                          "some. Meanwhile, keep taking your medicines as planned.")
            return []
        local_day = utcnow().astimezone(schedules.zone(patient.timezone)).date()
        dispatcher.utter_message(text=advice.deliver(db, patient, item, local_day))
        return []
