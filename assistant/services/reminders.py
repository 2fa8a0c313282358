"""What CareLoop says about doses (reminders, their buttons, what an answer recorded),
from the catalog. Text only: nothing here reads or writes the database.

Button data is `dose:<occurrence id>:<taken|snooze|skip>`, well under Telegram's 64
bytes; whoever handles it (`doses.apply_dose_button`) checks that the occurrence belongs
to the chat's patient.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from assistant import texts
from assistant.domain.doses import Action
from assistant.services.medications import label_text
from assistant.storage.models import Medication
from assistant.texts import formats

Buttons = list[list[dict[str, str]]]


def dose_label(med: Medication, language: str | None = None) -> str:
    """'Metformin 500 mg, 1 tablet, with food': the name as prescribed, the instructions in
    `language` when the team translated them."""
    parts = [med.label, med.dose, label_text(med, "instructions", language)]
    return ", ".join(part for part in parts if part)


def local_time(at: datetime, tz: ZoneInfo, language: str | None = None) -> str:
    """The patient's clock time of `at`, as their language writes it: '20:00'."""
    return formats.clock(at.astimezone(tz), language)


def reminder(med: Medication, due: datetime, tz: ZoneInfo, *, late: bool = False,
             nudge: bool = False, language: str | None = None) -> str:
    when = local_time(due, tz, language)
    said = "reminder.nudge" if nudge else "reminder.late" if late else "reminder.due"
    return texts.t(said, language, dose=dose_label(med, language), time=when)


def dose_buttons(occurrence_id: int, snooze_minutes: int, language: str | None = None) -> Buttons:
    return [[
        {"text": texts.t("reminder.button.taken", language),
         "data": f"dose:{occurrence_id}:{Action.taken}"},
        {"text": texts.t("reminder.button.snooze", language, minutes=snooze_minutes),
         "data": f"dose:{occurrence_id}:{Action.snooze}"},
        {"text": texts.t("reminder.button.skip", language),
         "data": f"dose:{occurrence_id}:{Action.skip}"},
    ]]


def outcome(med: Medication, action: Action, *, recorded: bool, snooze_minutes: int = 15,
            language: str | None = None) -> str:
    if not recorded:
        return texts.t("dose.already_recorded", language, medication=med.label)
    if action is Action.taken:
        return texts.t("dose.taken", language, medication=med.label)
    if action is Action.skip:
        return texts.t("dose.skipped", language, medication=med.label)
    return texts.t("dose.snoozed", language, medication=med.label, minutes=snooze_minutes)
