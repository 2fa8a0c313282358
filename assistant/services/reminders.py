"""What CareLoop says in its own words (reminders, buttons, outcomes), in one place.

Button data is `dose:<occurrence id>:<taken|snooze|skip>`, well under Telegram's 64
bytes; whoever handles it checks that the occurrence belongs to the chat's patient.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from assistant.services import doses
from assistant.services.doses import Action
from assistant.storage.models import Medication

Buttons = list[list[dict[str, str]]]


def dose_label(med: Medication) -> str:
    """'Metformin 500 mg, 1 tablet, with food'."""
    parts = [med.label, med.dose, med.instructions]
    return ", ".join(part for part in parts if part)


def local_time(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def reminder(med: Medication, due: datetime, tz: ZoneInfo, *, late: bool = False,
             nudge: bool = False) -> str:
    when = local_time(due, tz)
    if nudge:
        return f"Just checking: did you take your {dose_label(med)} (due {when})?"
    text = f"💊 Time for your {dose_label(med)} ({when})."
    if late:
        text = f"💊 Your {dose_label(med)} was due at {when}. Sorry this reminder is late."
    return text


def dose_buttons(occurrence_id: int, snooze_minutes: int) -> Buttons:
    return [[
        {"text": "✅ Taken", "data": f"dose:{occurrence_id}:{Action.taken}"},
        {"text": f"⏰ Snooze {snooze_minutes} min",
         "data": f"dose:{occurrence_id}:{Action.snooze}"},
        {"text": "Skip", "data": f"dose:{occurrence_id}:{Action.skip}"},
    ]]


def parse_dose_button(data: str) -> tuple[int, Action] | None:
    """`dose:12:taken` → (12, Action.taken); anything else → None."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "dose" or not parts[1].isdigit():
        return None
    try:
        return int(parts[1]), Action(parts[2])
    except ValueError:
        return None


def outcome(med: Medication, action: Action, *, recorded: bool, snooze_minutes: int = 15) -> str:
    if not recorded:
        return f"Your {med.label} dose was already recorded."
    if action is Action.taken:
        return f"✅ Noted: {med.label} taken. Well done!"
    if action is Action.skip:
        return f"Noted: {med.label} skipped. Your care team can see this."
    return f"⏰ OK, I'll remind you about {med.label} again in {snooze_minutes} minutes."


def apply_dose_button(db: Session, *, patient_id: int, data: str,
                      snooze_minutes: int) -> str | None:
    """Record a reminder button's answer for this patient's dose; the text to show, or None
    when the button is not a dose button of theirs."""
    parsed = parse_dose_button(data)
    dose = doses.find(db, patient_id=patient_id, occurrence_id=parsed[0]) if parsed else None
    if parsed is None or dose is None:
        return None
    action = parsed[1]
    recorded = doses.record(db, dose, action, source="button", snooze_minutes=snooze_minutes)
    return outcome(dose.medication, action, recorded=recorded, snooze_minutes=snooze_minutes)
