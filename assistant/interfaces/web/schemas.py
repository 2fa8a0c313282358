"""The REST API's request and response bodies. Unknown fields are refused (422), so a
misspelt field never silently does nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from assistant.domain import schedules
from assistant.domain.days import DayCode
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import teams
from assistant.storage.models import (
    DoseStatus,
    PatientStatus,
)

Clock = Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}$", examples=["08:00"])]
Label = Annotated[str, Field(min_length=1, max_length=60)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatientIn(In):
    display_name: str = Field(min_length=1, max_length=120)
    birth_date: date | None = Field(default=None, examples=["1948-03-21"])
    record_number: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64, examples=["Europe/Berlin"])
    language: str = Field(default="en", min_length=1, max_length=8)
    conditions: list[Label] = Field(default=[], max_length=20)
    goals: list[Label] = Field(default=[], max_length=20)


class PatientPatch(In):
    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    birth_date: date | None = None
    record_number: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, min_length=1, max_length=8)
    status: PatientStatus | None = None
    conditions: list[Label] | None = Field(default=None, max_length=20)
    goals: list[Label] | None = Field(default=None, max_length=20)
    quiet_start: Clock | None = None
    quiet_end: Clock | None = None
    advice_time: Clock | None = None
    advice_per_day: int | None = Field(default=None, ge=0, le=5)


class PatientOut(BaseModel):
    id: int
    display_name: str
    birth_date: date | None
    record_number: str | None
    timezone: str
    language: str
    status: PatientStatus
    conditions: list[str]
    goals: list[str]
    quiet_start: str | None
    quiet_end: str | None
    advice_time: str | None
    advice_per_day: int
    consent_at: datetime | None
    last_contact_at: datetime | None
    chat: str
    adherence_7: int | None
    adherence_30: int | None
    open_alerts: int
    # Filled in the list (GET /patients): why the patient is where they are, and today.
    urgent_alerts: int | None = None
    reasons: list[str] | None = None
    missed_in_a_row: int | None = None
    today: TodayOut | None = None


class TodayOut(BaseModel):
    """Today's doses in the patient's own local day."""
    due: int
    answered: int
    missed: int
    pending: int


class ScheduleIn(In):
    # The limits are the schedule rules' own (assistant.domain.schedules), which every other way
    # in (console, FHIR import, CLI) is held to as well; here they also document the API.
    times: list[Clock] = Field(default=[], max_length=schedules.MAX_TIMES_PER_DAY)
    days: list[DayCode] | None = Field(default=None, max_length=7,
                                   description="days of the week; omitted: every day")
    every_n_days: int = Field(default=1, ge=1, le=schedules.MAX_EVERY_N_DAYS)
    start_date: date | None = Field(default=None, ge=schedules.FIRST_DATE,
                                    le=schedules.LAST_DATE)
    end_date: date | None = Field(default=None, ge=schedules.FIRST_DATE,
                                  le=schedules.LAST_DATE)
    count: int | None = Field(default=None, ge=1, le=schedules.MAX_COUNT)
    as_needed: bool = False

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(
            times=tuple(self.times), days=None if self.days is None else ",".join(self.days),
            every_n_days=self.every_n_days, start_date=self.start_date,
            end_date=self.end_date, count=self.count, as_needed=self.as_needed)


class ScheduleOut(BaseModel):
    times: list[str]
    days: list[DayCode] | None
    every_n_days: int
    start_date: date
    end_date: date | None
    count: int | None
    as_needed: bool


class MedicationIn(In):
    name: str = Field(min_length=1, max_length=120)
    strength: str = Field(default="", max_length=60)
    dose: str = Field(default="1 tablet", min_length=1, max_length=60)
    instructions: str = Field(default="", max_length=500)
    purpose: str = Field(default="", max_length=500)
    missed_dose_instructions: str = Field(
        default="", max_length=500,
        description="what to do when a dose is missed; the assistant answers patients' "
                    "missed-dose questions with it, and relays them to the team without it")
    supply_count: int | None = Field(default=None, ge=0, le=100000)
    refill_days: int | None = Field(default=None, ge=0, le=365)
    schedule: ScheduleIn


class MedicationPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    strength: str | None = Field(default=None, max_length=60)
    dose: str | None = Field(default=None, min_length=1, max_length=60)
    instructions: str | None = Field(default=None, max_length=500)
    purpose: str | None = Field(default=None, max_length=500)
    missed_dose_instructions: str | None = Field(default=None, max_length=500)
    supply_count: int | None = Field(default=None, ge=0, le=100000)
    refill_days: int | None = Field(default=None, ge=0, le=365)


class MedicationOut(BaseModel):
    id: int
    name: str
    strength: str
    dose: str
    instructions: str
    purpose: str
    missed_dose_instructions: str
    supply_count: int | None
    refill_days: int | None
    active: bool
    schedule: ScheduleOut | None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    stopped_by: str | None = None


class StopIn(In):
    reason: str = Field(min_length=1, max_length=500, examples=["side effects: nausea"],
                        description="why it is stopped (FHIR statusReason-like), e.g. one of: "
                        "completed course, side effects, changed by prescriber, patient "
                        "declined, entered in error; free text allowed")


class WeekOut(BaseModel):
    days: list[date]
    medications: list[dict[str, Any]]


class DoseOut(BaseModel):
    id: int
    medication_id: int
    medication: str
    due_at: datetime
    status: DoseStatus
    outcome_at: datetime | None
    outcome_source: str | None


class AdherenceOut(BaseModel):
    last_7_days: int | None
    last_30_days: int | None
    daily: list[dict[str, Any]]


class ReadingIn(In):
    kind: Literal["blood_pressure", "glucose", "weight", "pulse", "temperature", "spo2"]
    value: float = Field(allow_inf_nan=False,
                         description="mmHg (systolic), mmol/L, kg, bpm, °C or % (spo2)")
    value2: float | None = Field(default=None, allow_inf_nan=False,
                                 description="diastolic, for blood pressure")
    taken_at: AwareDatetime | None = Field(default=None, description="with a UTC offset")
    source: str = Field(default="api", min_length=1, max_length=32)


class ReadingBatch(In):
    readings: list[ReadingIn] = Field(min_length=1, max_length=1000)


class ReadingOut(BaseModel):
    id: int
    kind: str
    value: float
    value2: float | None
    unit: str
    taken_at: datetime
    source: str


class MessageIn(In):
    text: str = Field(min_length=1, max_length=3500)


class AdviceIn(In):
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=2000)
    tags: list[Label] = Field(default=[], max_length=20)
    active: bool = True


class AdviceOut(BaseModel):
    id: int
    title: str
    body: str
    tags: list[str]
    active: bool
    translations: dict[str, dict[str, str]]   # language → title, body


class AdviceTranslationIn(In):   # both empty: the translation is removed
    title: str = Field(default="", max_length=120)
    body: str = Field(default="", max_length=2000)


class EnrolmentIn(In):
    hours: int | None = Field(default=None, ge=1, le=24 * 30)


class EnrolmentOut(BaseModel):
    code: str
    link: str | None
    expires_at: datetime


class Bounds(In):
    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)


def _setting(key: str, **more: Any) -> Any:
    """A whole-number team setting, documented with the limits `teams` holds it to."""
    low, high = teams.WHOLE_NUMBERS[key]
    return Field(default=None, ge=low, le=high, **more)


class TeamPatch(In):
    missed_alert_after: int | None = _setting("missed_alert_after")
    grace_minutes: int | None = _setting("grace_minutes")
    followup_minutes: int | None = _setting("followup_minutes")
    emergency_number: str | None = Field(default=None, min_length=1,
                                         max_length=teams.TEXTS["emergency_number"])
    crisis_line: str | None = Field(default=None, min_length=1,
                                    max_length=teams.TEXTS["crisis_line"])
    self_shift_minutes: int | None = _setting(
        "self_shift_minutes",
        description="how far a patient may move a dose time by chat; 0: the team decides")
    reading_thresholds: dict[Literal["systolic", "diastolic", "glucose", "weight", "pulse",
                                     "temperature"], Bounds] | None = None
    escalate_after_minutes: int | None = _setting(
        "escalate_after_minutes",
        description="an urgent alert unacknowledged this long goes to the next on-call member")
    timezone: str | None = Field(default=None, min_length=1, max_length=64,
                                 examples=["Europe/London"],
                                 description="new patients' time zone unless given (IANA)")


class TeamOut(BaseModel):
    id: int
    name: str
    missed_alert_after: int
    grace_minutes: int | None
    followup_minutes: int | None
    emergency_number: str | None
    crisis_line: str | None
    self_shift_minutes: int
    reading_thresholds: dict[str, dict[str, float]]
    escalate_after_minutes: int
    timezone: str


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    patient_id: int | None
    detail: str
