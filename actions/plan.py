"""Answers from the care plan: what to take and when (today, tomorrow, on a weekday), what
a medicine is for, what to do about a missed dose, adherence."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.base import Events, PatientAction, Turn
from assistant import texts
from assistant.domain import parsing, zones
from assistant.domain.doses import match_medication
from assistant.services import alerts, doses, medications
from assistant.services.medications import label_text
from assistant.services.reminders import dose_label
from assistant.storage.db import utcnow
from assistant.storage.models import AlertKind, DoseSchedule, DoseStatus, Medication, Patient
from assistant.texts import formats

MARK = {DoseStatus.taken: "plan.status.taken", DoseStatus.skipped: "plan.status.skipped",
        DoseStatus.missed: "plan.status.missed", DoseStatus.snoozed: "plan.status.snoozed"}


PARTS = {"morning": "part.morning", "afternoon": "part.afternoon", "evening": "part.evening"}


def _mark(status: DoseStatus, language: str) -> str:
    return f" {texts.t(MARK[status], language)}" if status in MARK else ""


def _part(part: parsing.PartOfDay, language: str) -> str:
    """'morning', 'mañana'."""
    return texts.t(PARTS[part.name], language)


def _lines(plan: list[doses.PlannedDose], patient: Patient) -> str:
    tz, lang = zones.zone(patient.timezone), patient.language
    return "\n".join(f"• {formats.clock(p.due.astimezone(tz), lang)} "
                     f"{dose_label(p.medication, lang)}{_mark(p.status, lang)}" for p in plan)


def _day_title(day: date, today: date, language: str) -> str:
    """'Today, Fri 27 Nov', 'Tomorrow, Sat 28 Nov', 'Friday 4 Dec'."""
    short = formats.day(day, language)
    if day == today:
        return texts.t("plan.title_today", language, date=short)
    if day == today + timedelta(days=1):
        return texts.t("plan.title_tomorrow", language, date=short)
    return formats.long_day(day, language)


def _in_part(plan: list[doses.PlannedDose], part: parsing.PartOfDay | None,
             tz: ZoneInfo) -> list[doses.PlannedDose]:
    return [p for p in plan if part is None or part.holds(p.due.astimezone(tz).time())]


class ActionAnswerSchedule(PatientAction):
    action_name = "action_answer_schedule"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        text, lang = turn.text.lower(), patient.language
        meds = medications.medications(db, patient.id)
        if not meds:
            dispatcher.utter_message(text=texts.t("plan.empty", lang))
            return []
        now = utcnow()
        tz = zones.zone(patient.timezone)
        today = now.astimezone(tz).date()
        part = parsing.part_of_day(text)
        days = parsing.days_asked(text, today)
        if days:  # "tmrw", "on friday", "this weekend": that day's plan, not today's
            dispatcher.utter_message(text="\n\n".join(
                self._day(db, patient, day, today, part, now) for day in days))
            return []
        if re.search(r"\b(on|list|medications|medicines|meds do i have|tablets am i|pills am i)\b",
                     text) and not re.search(r"today|tonight|next|now", text):
            dispatcher.utter_message(text=self._full_list(meds, lang))
            return []
        plan = doses.day_plan(db, patient, now=now)
        upcoming = [p for p in plan if p.due > now and p.status == DoseStatus.planned]
        if "next" in text or "now" in text:
            nxt = upcoming[0] if upcoming else next(iter(doses.day_plan(db, patient, 1, now)), None)
            dispatcher.utter_message(
                text=texts.t("plan.next", lang, dose=dose_label(nxt.medication, lang),
                             time=formats.moment(nxt.due.astimezone(tz), lang)) if nxt
                else texts.t("plan.no_more", lang))
            return []
        chosen = _in_part(plan, part, tz)
        if part and chosen:
            said = texts.t("plan.part", lang, part=_part(part, lang),
                           lines=_lines(chosen, patient))
        elif part:
            said = texts.t("plan.nothing_part", lang, part=_part(part, lang))
        elif chosen:
            said = texts.t("plan.today", lang, lines=_lines(chosen, patient))
        else:
            said = texts.t("plan.nothing_today", lang)
        dispatcher.utter_message(text=said)
        return []

    @staticmethod
    def _day(db: Session, patient: Patient, day: date, today: date,
             part: parsing.PartOfDay | None, now: datetime) -> str:
        tz, lang = zones.zone(patient.timezone), patient.language
        title = _day_title(day, today, lang) + (f" {_part(part, lang)}" if part else "")
        chosen = _in_part(doses.day_plan(db, patient, now=now, day=day), part, tz)
        return texts.t("plan.day", lang, title=title, lines=_lines(chosen, patient)) \
            if chosen else texts.t("plan.day_nothing", lang, title=title)

    @staticmethod
    def _full_list(meds: list[tuple[Medication, DoseSchedule | None]], lang: str) -> str:
        lines = []
        for med, row in meds:
            timing = texts.t("plan.as_needed", lang)
            if row is not None and not row.as_needed:
                days, times = row.days_of_week, ", ".join(
                    formats.clock(time.fromisoformat(at), lang) for at in row.times_of_day)
                timing = (texts.t("plan.on_days", lang, times=times, days=", ".join(
                    formats.weekday(d, lang, short=True) for d in days))
                          if days is not None else texts.t("plan.every_day", lang, times=times))
            lines.append(f"• {dose_label(med, lang)}, {timing}")
        return texts.t("plan.list", lang, lines="\n".join(lines))


def _missed_meant(turn: Turn, meds: list[tuple[Medication, DoseSchedule | None]]
                  ) -> list[Medication]:
    """The medications a missed-dose question is about: the one named; else those with a
    dose in the part of the day named ('my morning dose'); else the only one. Empty when
    that leaves it ambiguous."""
    everything = [med for med, _ in meds]
    named = turn.entities.get("medication")
    if named:
        return match_medication(named, everything)
    found = {med.id: med for word in re.findall(r"[a-z]{4,}", turn.text.lower())
             for med in match_medication(word, everything)}
    if found:
        return list(found.values())
    part = parsing.part_of_day(turn.text)
    if part:
        in_part = [med for med, row in meds if row is not None and not row.as_needed and any(
            part.holds(time.fromisoformat(at)) for at in row.times_of_day)]
        if in_part:
            return in_part
    return everything if len(everything) == 1 else []


class ActionMissedDose(PatientAction):
    """What to do about a missed dose: only what the care team wrote for that medication;
    without it the question goes to the team. Never dosing advice of our own."""

    action_name = "action_missed_dose"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        meds, lang = medications.medications(db, patient.id), patient.language
        if not meds:
            dispatcher.utter_message(text=texts.t("plan.empty", lang))
            return []
        chosen = _missed_meant(turn, meds)
        if not chosen:
            dispatcher.utter_message(text=texts.t("missed.which", lang), buttons=[
                {"title": med.label,
                 "payload": "/ask_missed_dose" + json.dumps({"medication": med.name})}
                for med, _ in meds])
            return []
        written = [med for med in chosen if med.missed_dose_instructions]
        unwritten = [med for med in chosen if not med.missed_dose_instructions]
        parts = []
        if len(written) == 1:
            parts.append(texts.t("missed.one", lang, medication=written[0].label,
                                 instructions=written[0].missed_dose_instructions))
        elif written:
            parts.append(texts.t("missed.several", lang, lines="\n".join(
                f"• {med.label}: {med.missed_dose_instructions}" for med in written)))
        if unwritten:
            names = ", ".join(med.label for med in unwritten)
            alerts.raise_alert(db, patient=patient, kind=AlertKind.question,
                               summary=texts.t("alert.missed_dose_question", medications=names,
                                               text=turn.text))
            parts.append(texts.t("missed.unwritten", lang, medications=names))
        dispatcher.utter_message(text="\n\n".join(parts))
        return []


class ActionMedicationInfo(PatientAction):
    action_name = "action_medication_info"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        meds, lang = [med for med, _ in medications.medications(db, patient.id)], patient.language
        named = turn.entities.get("medication") or turn.text
        found = match_medication(named, meds) or [
            med for word in re.findall(r"[a-z]{4,}", turn.text.lower())
            for med in match_medication(word, meds)]
        if not found:
            names = ", ".join(med.name for med in meds) or texts.t("info.none_yet", lang)
            dispatcher.utter_message(text=texts.t("info.which", lang, names=names))
            return []
        med = found[0]
        purpose, how = (label_text(med, name, lang) for name in ("purpose", "instructions"))
        parts = [texts.t("info.purpose", lang, medication=med.label, purpose=purpose)
                 if purpose else texts.t("info.no_purpose", lang, name=med.name)]
        if how:
            parts.append(texts.t("info.how", lang, dose=med.dose, instructions=how))
        dispatcher.utter_message(text="\n".join(parts))
        return []


class ActionAdherence(PatientAction):
    action_name = "action_adherence"

    def act(self, db: Session, patient: Patient, turn: Turn,
            dispatcher: CollectingDispatcher) -> Events:
        tz, lang = zones.zone(patient.timezone), patient.language
        week, month = (doses.adherence(db, patient.id, days) for days in (7, 30))
        if not month.answered:
            dispatcher.utter_message(text=texts.t("adherence.nothing", lang))
            return []
        lines = [texts.t("adherence.week", lang, taken=week.taken, answered=week.answered)
                 if week.percent is None else
                 texts.t("adherence.week_percent", lang, taken=week.taken,
                         answered=week.answered, percent=week.percent),
                 texts.t("adherence.month", lang, taken=month.taken, answered=month.answered,
                         percent=month.percent)]
        if week.missed_doses:
            missed = ", ".join(texts.t("adherence.missed_dose", lang, medication=label,
                                       when=formats.moment(due.astimezone(tz), lang))
                               for due, label in week.missed_doses[-5:])
            lines.append(texts.t("adherence.missed", lang, doses=missed))
        dispatcher.utter_message(text="\n".join(lines))
        return []
