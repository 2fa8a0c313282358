"""CareLoop's rasa_sdk custom actions: thin, reading and writing through `assistant`.

`python -m actions.server --actions actions` (rasa_sdk's server, see `actions.server`)
loads every action imported here.
"""

from actions.doses import ActionConfirmDose, ActionSkipDose, ActionSnoozeDose
from actions.plan import (
    ActionAdherence,
    ActionAnswerSchedule,
    ActionMedicationInfo,
    ActionMissedDose,
)
from actions.preferences import (
    ActionChangeReminderTime,
    ActionPauseReminders,
    ActionRequestAdvice,
    ActionResumeReminders,
)
from actions.reports import (
    ActionEmergency,
    ActionLogMeasurement,
    ActionRelayToCareTeam,
    ActionReportSymptom,
)

__all__ = [
    "ActionAdherence", "ActionAnswerSchedule", "ActionChangeReminderTime", "ActionConfirmDose",
    "ActionEmergency", "ActionLogMeasurement", "ActionMedicationInfo", "ActionMissedDose",
    "ActionPauseReminders",
    "ActionRelayToCareTeam", "ActionReportSymptom", "ActionRequestAdvice",
    "ActionResumeReminders", "ActionSkipDose", "ActionSnoozeDose",
]
