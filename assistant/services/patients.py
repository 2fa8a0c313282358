"""Care teams, patients and their medications: the care plan as the team writes it.

Small keyword-only functions shared by the CLI, the console/API and the demo. Each
validates everything before it writes anything, and records an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from assistant.domain import schedules
from assistant.errors import InvalidInput, InvalidSchedule, NotFound
from assistant.services import audit
from assistant.storage.db import utcnow
from assistant.storage.models import (
    CareTeam,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Medication,
    Patient,
    PatientStatus,
    Role,
    TeamMember,
)


def clean_text(value: str, what: str, max_length: int, required: bool = True) -> str:
    value = " ".join(value.split())
    if required and not value:
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_length:
        raise InvalidInput(f"{what} is too long (at most {max_length} characters)")
    return value


def add_team(db: Session, *, name: str, actor: str) -> CareTeam:
    name = clean_text(name, "team name", 120)
    if db.exec(select(CareTeam).where(CareTeam.name == name)).first():
        raise InvalidInput(f"a team named {name!r} already exists")
    team = CareTeam(name=name)
    db.add(team)
    db.flush()
    audit.record(db, actor=actor, action="team.add", detail=f"team {team.id}")
    return team


def get_team(db: Session, team: str | int) -> CareTeam:
    """A team by id or by name."""
    query = select(CareTeam).where(
        CareTeam.id == int(team) if str(team).isdigit() else CareTeam.name == str(team)
    )
    found = db.exec(query).first()
    if found is None:
        raise NotFound(f"no care team {team!r}; create it with `careloop team add NAME`")
    return found


def add_member(db: Session, *, team: CareTeam, name: str, email: str, role: Role,
               password_hash: str | None, actor: str) -> TeamMember:
    email = clean_text(email, "email", 254).lower()
    if "@" not in email:
        raise InvalidInput(f"{email!r} is not an email address")
    if db.exec(select(TeamMember).where(TeamMember.email == email)).first():
        raise InvalidInput(f"a member with email {email} already exists")
    member = TeamMember(team_id=team.id, name=clean_text(name, "name", 120), email=email, role=role,
                        password_hash=password_hash)
    db.add(member)
    db.flush()
    audit.record(db, actor=actor, action="member.add", detail=f"member {member.id}")
    return member


def add_patient(db: Session, *, team: CareTeam, name: str, timezone: str, actor: str,
                language: str = "en", conditions: list[str] | None = None,
                goals: list[str] | None = None) -> Patient:
    try:
        schedules.place_zone(timezone)
    except schedules.ScheduleError as exc:
        raise InvalidInput(f"timezone: {exc}") from None
    patient = Patient(team_id=team.id, display_name=clean_text(name, "patient name", 120),
                      timezone=timezone, language=clean_text(language, "language", 8),
                      conditions=conditions or [], goals=goals or [])
    db.add(patient)
    db.flush()
    audit.record(db, actor=actor, action="patient.add", patient_id=patient.id)
    return patient


def get_patient(db: Session, patient_id: int, team_id: int | None = None) -> Patient:
    """A patient by id; with `team_id`, only if that team cares for them."""
    patient = db.get(Patient, patient_id)
    if patient is None or (team_id is not None and patient.team_id != team_id):
        raise NotFound(f"no patient {patient_id}")
    return patient


def _clock(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return schedules.parse_times([value])[0].strftime("%H:%M")
    except schedules.ScheduleError as exc:
        raise InvalidInput(f"{what}: {exc}") from None


def _labels(values: list[str], what: str) -> list[str]:
    cleaned = [clean_text(v, what, 60) for v in values if v.strip()]
    if len(cleaned) > 20:
        raise InvalidInput(f"{what}: at most 20")
    return cleaned


PROFILE_FIELDS = ("display_name", "timezone", "language", "conditions", "goals", "quiet_start",
                  "quiet_end", "advice_time", "advice_per_day", "status")


def update_profile(db: Session, patient: Patient, changes: dict[str, Any], *,
                   actor: str) -> Patient:
    """Change a patient's profile; everything is checked before anything is written.
    A new time zone moves future reminders to the new local times."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: not a profile field")
    new = dict(changes)
    for key in set(PROFILE_FIELDS) - {"quiet_start", "quiet_end", "advice_time"}:
        if key in new and new[key] is None:
            raise InvalidInput(f"{key}: cannot be removed, only changed")
    if "display_name" in new:
        new["display_name"] = clean_text(new["display_name"], "display_name", 120)
    if "timezone" in new and new["timezone"] != patient.timezone:
        try:  # a zone chosen now; an old alias already stored may stay as it is
            schedules.place_zone(new["timezone"])
        except schedules.ScheduleError as exc:
            raise InvalidInput(f"timezone: {exc}") from None
    if "language" in new:
        new["language"] = clean_text(new["language"], "language", 8)
    for key in ("conditions", "goals"):
        if key in new:
            new[key] = _labels(new[key], key)
    for key in ("quiet_start", "quiet_end", "advice_time"):
        if key in new:
            new[key] = _clock(new[key], key)
    if "advice_per_day" in new and not 0 <= int(new["advice_per_day"]) <= 5:
        raise InvalidInput("advice_per_day: 0 to 5")
    if "status" in new:
        try:
            new["status"] = PatientStatus(new["status"])
        except ValueError:
            raise InvalidInput("status: active, paused or stopped") from None
    moved = "timezone" in new and new["timezone"] != patient.timezone
    for key, value in new.items():
        setattr(patient, key, value)
    db.add(patient)
    if moved:
        from assistant.scheduling.planner import replan_patient

        replan_patient(db, patient.id)
    audit.record(db, actor=actor, action="patient.update", patient_id=patient.id,
                 detail=", ".join(sorted(new)))
    return patient


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as people type it (`--at 08:00 --days mon,wed,fri`)."""

    times: tuple[str, ...] = ()
    days: str | None = None
    every_n_days: int = 1
    start_date: date | None = None
    end_date: date | None = None
    count: int | None = None
    as_needed: bool = False

    def timing(self, tz_name: str, now: datetime | None = None) -> schedules.Timing:
        """The validated timing; the start defaults to today (at `now`, the clock by
        default) in the patient's zone. An error is an InvalidSchedule naming the field at
        fault (`times: ...`, `every_n_days: ...`; `schedule: ...` when no one field is)."""
        try:
            times = schedules.parse_times(self.times)
            days = schedules.parse_days(self.days)
            start = self.start_date or (now or utcnow()).astimezone(
                schedules.zone(tz_name)).date()
            timing = schedules.Timing(
                times_of_day=times, days_of_week=days, every_n_days=self.every_n_days,
                start_date=start, end_date=self.end_date, count=self.count,
                as_needed=self.as_needed,
            )
            schedules.validate(timing, tz_name)
        except schedules.ScheduleError as exc:
            raise InvalidSchedule(exc.field or "schedule", str(exc)) from None
        return timing


def schedule_row(medication_id: int, timing: schedules.Timing,
                 written_at: datetime | None = None) -> DoseSchedule:
    return DoseSchedule(
        medication_id=medication_id,
        updated_at=written_at or utcnow(),  # no dose due before this is reminded
        times_of_day=[t.strftime("%H:%M") for t in timing.times_of_day],
        days_of_week=sorted(timing.days_of_week) if timing.days_of_week is not None else None,
        every_n_days=timing.every_n_days,
        start_date=timing.start_date,
        end_date=timing.end_date,
        count=timing.count,
        as_needed=timing.as_needed,
    )


def timing_of(row: DoseSchedule) -> schedules.Timing:
    return schedules.Timing(
        times_of_day=schedules.parse_times(row.times_of_day),
        days_of_week=frozenset(row.days_of_week) if row.days_of_week is not None else None,
        every_n_days=row.every_n_days,
        start_date=row.start_date,
        end_date=row.end_date,
        count=row.count,
        as_needed=row.as_needed,
    )


def add_medication(db: Session, *, patient: Patient, name: str, strength: str = "",
                   dose: str = "1 tablet", instructions: str = "", purpose: str = "",
                   missed_dose_instructions: str = "", schedule: ScheduleSpec,
                   supply_count: int | None = None, refill_days: int | None = None,
                   actor: str, now: datetime | None = None) -> Medication:
    """A medication and its schedule, written at `now` (the clock by default)."""
    now = now or utcnow()
    timing = schedule.timing(patient.timezone, now)  # refuse a bad schedule before writing
    if supply_count is not None and supply_count < 0:
        raise InvalidInput("supply count must be 0 or more")
    medication = Medication(
        patient_id=patient.id, name=clean_text(name, "medication name", 120),
        strength=clean_text(strength, "strength", 60, required=False),
        dose=clean_text(dose, "dose", 60),
        instructions=clean_text(instructions, "instructions", 500, False),
        purpose=clean_text(purpose, "purpose", 500, False),
        missed_dose_instructions=clean_text(missed_dose_instructions,
                                            "missed_dose_instructions", 500, False),
        supply_count=supply_count, refill_days=refill_days,
    )
    db.add(medication)
    db.flush()
    db.add(schedule_row(medication.id, timing, written_at=now))
    db.flush()
    audit.record(db, actor=actor, action="medication.add", patient_id=patient.id,
                 detail=f"medication {medication.id}")
    return medication


def replace_schedule(db: Session, *, medication: Medication, schedule: ScheduleSpec,
                     actor: str, now: datetime | None = None) -> DoseSchedule:
    """A new schedule for a medication, written at `now` (the clock by default); future,
    unsent occurrences of the old one go."""
    if not medication.active:
        raise InvalidInput("this medication is stopped; add it again instead")
    now = now or utcnow()
    patient = get_patient(db, medication.patient_id)
    timing = schedule.timing(patient.timezone, now)
    for old in db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == medication.id,
                                                  DoseSchedule.active)):
        old.active = False
        old.updated_at = now
        cancel_future(db, schedule_id=old.id)
    row = schedule_row(medication.id, timing, written_at=now)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="schedule.replace", patient_id=patient.id,
                 detail=f"medication {medication.id}")
    return row


MEDICATION_FIELDS = {"name": (120, True), "strength": (60, False), "dose": (60, True),
                     "instructions": (500, False), "purpose": (500, False),
                     "missed_dose_instructions": (500, False)}


def update_medication(db: Session, medication: Medication, changes: dict[str, Any], *,
                      actor: str) -> Medication:
    """Change what the label says (name, strength, dose, instructions, purpose, what to do
    if a dose is missed, supply)."""
    new = dict(changes)
    for key, value in changes.items():
        if key in MEDICATION_FIELDS:
            limit, required = MEDICATION_FIELDS[key]
            new[key] = clean_text(value or "", key, limit, required)
        elif key in ("supply_count", "refill_days"):
            if value is not None and value < 0:
                raise InvalidInput(f"{key}: 0 or more")
        else:
            raise InvalidInput(f"{key}: not a medication field")
    for key, value in new.items():
        setattr(medication, key, value)
    db.add(medication)
    audit.record(db, actor=actor, action="medication.update", patient_id=medication.patient_id,
                 detail=f"medication {medication.id}: {', '.join(sorted(new))}")
    return medication


def stop_medication(db: Session, *, medication: Medication, actor: str) -> None:
    medication.active = False
    medication.stopped_at = utcnow()
    for row in db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == medication.id)):
        row.active = False
        cancel_future(db, schedule_id=row.id)
    audit.record(db, actor=actor, action="medication.stop", patient_id=medication.patient_id,
                 detail=f"medication {medication.id}")


def cancel_future(db: Session, *, schedule_id: int | None,
                  after: datetime | None = None) -> None:
    """Cancel occurrences not yet reminded (due from `after` on, when given): the ones
    already sent stay as they are."""
    query = select(DoseOccurrence).where(DoseOccurrence.schedule_id == schedule_id,
                                         DoseOccurrence.status == DoseStatus.planned)
    if after is not None:
        query = query.where(DoseOccurrence.due_at >= after)
    for occ in db.exec(query):
        occ.status = DoseStatus.cancelled


def active_schedules(db: Session, medication_id: int) -> list[DoseSchedule]:
    """A medication's schedules in force, oldest first: one, or two while a dose time moves
    (the old one ends today, the new one starts tomorrow)."""
    return list(db.exec(select(DoseSchedule).where(
        DoseSchedule.medication_id == medication_id, DoseSchedule.active)
        .order_by(col(DoseSchedule.start_date), col(DoseSchedule.id))).all())


def medications(db: Session, patient_id: int) -> list[tuple[Medication, DoseSchedule | None]]:
    """The patient's active medications with the schedule they follow from now on, by name."""
    meds = db.exec(select(Medication).where(Medication.patient_id == patient_id,
                                            Medication.active).order_by(Medication.name)).all()
    result: list[tuple[Medication, DoseSchedule | None]] = []
    for med in meds:
        rows = active_schedules(db, med.id)
        result.append((med, rows[-1] if rows else None))
    return result


def dues(db: Session, medication_id: int, tz: ZoneInfo, start: datetime,
         end: datetime) -> list[tuple[datetime, DoseSchedule]]:
    """A medication's dose times in [start, end), from every schedule in force."""
    return sorted(((due, row) for row in active_schedules(db, medication_id)
                   for due in schedules.expand(timing_of(row), tz, start, end)),
                  key=lambda pair: pair[0])


@dataclass(frozen=True)
class Shift:
    medications: list[Medication]
    old: str        # "08:00"
    new: str        # "08:30"
    from_day: date  # the first local day at the new time


def shift_reminder(db: Session, patient: Patient, *, to: time, medication: str | None,
                   window_minutes: int, actor: str) -> Shift | None:
    """Self-service: move the dose time nearest to `to` (of the named medication, or of
    every medication taken at that time) to `to`, from tomorrow on, when it is within the
    window the care team allowed. None when no dose time is that close: the team decides.

    From tomorrow, so that no dose of today is reminded twice or not at all: the old
    schedule ends today and a new one, at the new time, starts tomorrow."""
    from assistant.services.doses import match_medication

    rows = [(med, row) for med, row in medications(db, patient.id)
            if row is not None and not row.as_needed and row.count is None]
    if medication:
        named = match_medication(medication, [med for med, _ in rows])
        rows = [(med, row) for med, row in rows if med in named]
    wanted = to.hour * 60 + to.minute

    def distance(clock: str) -> int:
        return abs(int(clock[:2]) * 60 + int(clock[3:]) - wanted)

    slots = sorted({clock for _, row in rows for clock in row.times_of_day}, key=distance)
    if not slots or distance(slots[0]) > window_minutes or distance(slots[0]) == 0:
        return None
    old, new = slots[0], to.strftime("%H:%M")
    tz = schedules.zone(patient.timezone)
    today = utcnow().astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    moved = []
    for med, row in rows:
        if old not in row.times_of_day or (row.end_date and row.end_date < tomorrow):
            continue
        times = sorted({*row.times_of_day, new} - {old})
        if len(times) < len(row.times_of_day):  # the new time is already one of its times
            continue
        start = max(tomorrow, row.start_date)
        start += timedelta(days=-(start - row.start_date).days % row.every_n_days)  # in step
        spec = ScheduleSpec(times=tuple(times), every_n_days=row.every_n_days,
                            days=",".join(schedules.DAY_NAMES[d] for d in row.days_of_week)
                            if row.days_of_week is not None else None,
                            start_date=start, end_date=row.end_date)
        timing = spec.timing(patient.timezone)
        if row.start_date > today:
            row.active = False  # not begun yet: nothing of it to keep
        else:
            row.end_date = today
        row.updated_at = utcnow()
        db.add(row)
        cancel_future(db, schedule_id=row.id,
                      after=schedules.to_utc(tomorrow, datetime.min.time(), tz))
        db.add(schedule_row(med.id, timing))
        moved.append(med)
    if not moved:
        return None
    db.flush()
    audit.record(db, actor=actor, action="schedule.shift", patient_id=patient.id,
                 detail=f"{old} -> {new} for {len(moved)} medication(s)")
    return Shift(moved, old, new, tomorrow)
