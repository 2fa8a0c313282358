"""What CareLoop says in its own words about doses (reminders, their buttons, what an
answer recorded), in one place. Text only: nothing here reads or writes the database.

Button data is `dose:<occurrence id>:<taken|snooze|skip>`, well under Telegram's 64
bytes; whoever handles it (`doses.apply_dose_button`) checks that the occurrence belongs
to the chat's patient.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from assistant.domain.doses import Action
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


def outcome(med: Medication, action: Action, *, recorded: bool, snooze_minutes: int = 15) -> str:
    if not recorded:
        return f"Your {med.label} dose was already recorded."
    if action is Action.taken:
        return f"✅ Noted: {med.label} taken. Well done!"
    if action is Action.skip:
        return f"Noted: {med.label} skipped. Your care team can see this."
    return f"⏰ OK, I'll remind you about {med.label} again in {snooze_minutes} minutes."
