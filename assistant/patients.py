"""Care teams, patients and their medications: the care plan as the team writes it.

Small keyword-only functions shared by the CLI, the console/API and the demo. Each
validates everything before it writes anything, and records an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from assistant import audit, schedules
from assistant.db import utcnow
from assistant.errors import InvalidInput, NotFound
from assistant.models import (
    CareTeam,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Medication,
    Patient,
    Role,
    TeamMember,
)


def _text(value: str, what: str, max_length: int, required: bool = True) -> str:
    value = " ".join(value.split())
    if required and not value:
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_length:
        raise InvalidInput(f"{what} is too long (at most {max_length} characters)")
    return value


def add_team(db: Session, *, name: str, actor: str) -> CareTeam:
    name = _text(name, "team name", 120)
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
    email = _text(email, "email", 254).lower()
    if "@" not in email:
        raise InvalidInput(f"{email!r} is not an email address")
    if db.exec(select(TeamMember).where(TeamMember.email == email)).first():
        raise InvalidInput(f"a member with email {email} already exists")
    member = TeamMember(team_id=team.id, name=_text(name, "name", 120), email=email, role=role,
                        password_hash=password_hash)
    db.add(member)
    db.flush()
    audit.record(db, actor=actor, action="member.add", detail=f"member {member.id}")
    return member


def add_patient(db: Session, *, team: CareTeam, name: str, timezone: str, actor: str,
                language: str = "en", conditions: list[str] | None = None,
                goals: list[str] | None = None) -> Patient:
    try:
        schedules.zone(timezone)
    except schedules.ScheduleError as exc:
        raise InvalidInput(str(exc)) from None
    patient = Patient(team_id=team.id, display_name=_text(name, "patient name", 120),
                      timezone=timezone, language=_text(language, "language", 8),
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

    def timing(self, tz_name: str) -> schedules.Timing:
        """The validated timing; the start defaults to today in the patient's zone."""
        try:
            start = self.start_date or utcnow().astimezone(schedules.zone(tz_name)).date()
            timing = schedules.Timing(
                times_of_day=schedules.parse_times(self.times),
                days_of_week=schedules.parse_days(self.days),
                every_n_days=self.every_n_days,
                start_date=start,
                end_date=self.end_date,
                count=self.count,
                as_needed=self.as_needed,
            )
            schedules.validate(timing, tz_name)
        except schedules.ScheduleError as exc:
            raise InvalidInput(str(exc)) from None
        return timing


def schedule_row(medication_id: int, timing: schedules.Timing) -> DoseSchedule:
    return DoseSchedule(
        medication_id=medication_id,
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
                   schedule: ScheduleSpec, supply_count: int | None = None,
                   refill_days: int | None = None, actor: str) -> Medication:
    timing = schedule.timing(patient.timezone)  # refuse a bad schedule before writing
    if supply_count is not None and supply_count < 0:
        raise InvalidInput("supply count must be 0 or more")
    medication = Medication(
        patient_id=patient.id, name=_text(name, "medication name", 120),
        strength=_text(strength, "strength", 60, required=False),
        dose=_text(dose, "dose", 60), instructions=_text(instructions, "instructions", 500, False),
        purpose=_text(purpose, "purpose", 500, False), supply_count=supply_count,
        refill_days=refill_days,
    )
    db.add(medication)
    db.flush()
    db.add(schedule_row(medication.id, timing))
    db.flush()
    audit.record(db, actor=actor, action="medication.add", patient_id=patient.id,
                 detail=f"medication {medication.id}")
    return medication


def replace_schedule(db: Session, *, medication: Medication, schedule: ScheduleSpec,
                     actor: str) -> DoseSchedule:
    """A new schedule for a medication; future, unsent occurrences of the old one go."""
    patient = get_patient(db, medication.patient_id)
    timing = schedule.timing(patient.timezone)
    for old in db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == medication.id,
                                                  DoseSchedule.active)):
        old.active = False
        old.updated_at = utcnow()
        cancel_future(db, schedule_id=old.id)
    row = schedule_row(medication.id, timing)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="schedule.replace", patient_id=patient.id,
                 detail=f"medication {medication.id}")
    return row


def stop_medication(db: Session, *, medication: Medication, actor: str) -> None:
    medication.active = False
    medication.stopped_at = utcnow()
    for row in db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == medication.id)):
        row.active = False
        cancel_future(db, schedule_id=row.id)
    audit.record(db, actor=actor, action="medication.stop", patient_id=medication.patient_id,
                 detail=f"medication {medication.id}")


def cancel_future(db: Session, *, schedule_id: int | None) -> None:
    """Cancel occurrences not yet reminded: the ones already sent stay as they are."""
    for occ in db.exec(select(DoseOccurrence).where(
            DoseOccurrence.schedule_id == schedule_id,
            DoseOccurrence.status == DoseStatus.planned)):
        occ.status = DoseStatus.cancelled


def medications(db: Session, patient_id: int) -> list[tuple[Medication, DoseSchedule | None]]:
    """The patient's active medications with their active schedule, by name."""
    meds = db.exec(select(Medication).where(Medication.patient_id == patient_id,
                                            Medication.active).order_by(Medication.name)).all()
    result = []
    for med in meds:
        row = db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == med.id,
                                                 DoseSchedule.active)).first()
        result.append((med, row))
    return result
