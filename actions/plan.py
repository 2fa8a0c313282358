"""Answers from the care plan: what to take and when, what a medicine is for, adherence."""

from __future__ import annotations

import re

from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.base import Events, PatientAction, Turn
from assistant import doses, patients, schedules
from assistant.db import utcnow
from assistant.messages import dose_label
from assistant.models import DoseSchedule, DoseStatus, Medication, Patient

MARK = {DoseStatus.taken: " ✅ taken", DoseStatus.skipped: " (skipped)",
        DoseStatus.missed: " (missed)", DoseStatus.snoozed: " (snoozed)"}
NO_PLAN = ("You have no medications in your plan yet. Your care team sets up your plan; "
           "I'll remind you as soon as they do.")


def _lines(plan: list[doses.PlannedDose], patient: Patient) -> str:
    tz = schedules.zone(patient.timezone)
    return "\n".join(f"• {p.due.astimezone(tz):%H:%M} {dose_label(p.medication)}"
                     f"{MARK.get(p.status, '')}" for p in plan)


class ActionAnswerSchedule(PatientAction):
    action_name = "action_answer_schedule"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        text = turn.text.lower()
        meds = patients.medications(db, patient.id)
        if not meds:
            dispatcher.utter_message(text=NO_PLAN)
            return []
        if re.search(r"\b(on|list|medications|medicines|meds do i have|tablets am i|pills am i)\b",
                     text) and not re.search(r"today|tonight|tomorrow|next|now", text):
            dispatcher.utter_message(text=self._full_list(meds))
            return []
        now = utcnow()
        tz = schedules.zone(patient.timezone)
        if "tomorrow" in text:
            plan = doses.day_plan(db, patient, day_offset=1, now=now)
            dispatcher.utter_message(text="Tomorrow:\n" + _lines(plan, patient) if plan
                                     else "Nothing is scheduled for tomorrow.")
            return []
        today = doses.day_plan(db, patient, now=now)
        upcoming = [p for p in today if p.due > now and p.status == DoseStatus.planned]
        if "next" in text or "now" in text:
            nxt = upcoming[0] if upcoming else next(iter(doses.day_plan(db, patient, 1, now)), None)
            dispatcher.utter_message(
                text=f"Your next dose: {dose_label(nxt.medication)} at "
                     f"{schedules.local_label(nxt.due, tz)}." if nxt
                else "No more doses are scheduled for now.")
            return []
        if re.search(r"tonight|evening|night", text):
            part, chosen = "this evening", [p for p in today if p.due.astimezone(tz).hour >= 17]
        elif "morning" in text:
            part, chosen = "this morning", [p for p in today if p.due.astimezone(tz).hour < 12]
        else:
            part, chosen = "today", today
        dispatcher.utter_message(text=f"Your doses {part}:\n" + _lines(chosen, patient)
                                 if chosen else f"Nothing is scheduled {part}.")
        return []

    @staticmethod
    def _full_list(meds: list[tuple[Medication, DoseSchedule | None]]) -> str:
        lines = []
        for med, row in meds:
            timing = "as needed"
            if row is not None and not row.as_needed:
                days = row.days_of_week
                on = (" on " + ", ".join(schedules.DAY_NAMES[d].title() for d in days)
                      if days is not None else " every day")
                timing = f"at {', '.join(row.times_of_day)}{on}"
            lines.append(f"• {dose_label(med)}, {timing}")
        return "Your medications:\n" + "\n".join(lines)


class ActionMedicationInfo(PatientAction):
    action_name = "action_medication_info"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        meds = [med for med, _ in patients.medications(db, patient.id)]
        named = turn.entities.get("medication") or turn.text
        found = doses.match_medication(named, meds) or [
            med for word in re.findall(r"[a-z]{4,}", turn.text.lower())
            for med in doses.match_medication(word, meds)]
        if not found:
            names = ", ".join(med.name for med in meds) or "none yet"
            dispatcher.utter_message(text=f"I can only tell you what your care team wrote about "
                                          f"your own medicines ({names}). Which one do you mean?")
            return []
        med = found[0]
        parts = [f"{med.label}: {med.purpose}" if med.purpose else
                 f"Your care team hasn't written what {med.name} is for. "
                 "Ask me to pass the question to them."]
        if med.instructions:
            parts.append(f"How to take it: {med.dose}, {med.instructions}.")
        dispatcher.utter_message(text="\n".join(parts))
        return []


class ActionAdherence(PatientAction):
    action_name = "action_adherence"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        tz = schedules.zone(patient.timezone)
        week, month = (doses.adherence(db, patient.id, days) for days in (7, 30))
        if not month.answered:
            dispatcher.utter_message(text="There's nothing to count yet: no doses were due.")
            return []
        lines = [f"Last 7 days: {week.taken} of {week.answered} doses taken"
                 + (f" ({week.percent}%)." if week.percent is not None else "."),
                 f"Last 30 days: {month.taken} of {month.answered} ({month.percent}%)."]
        if week.missed_doses:
            missed = ", ".join(f"{label} on {due.astimezone(tz):%a %d %b %H:%M}"
                               for due, label in week.missed_doses[-5:])
            lines.append(f"Missed this week: {missed}.")
        dispatcher.utter_message(text="\n".join(lines))
        return []
