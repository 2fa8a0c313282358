"""From schedules to reminders, step by step, with the database as the only state.

* `plan` expands schedules into dose occurrences over a rolling horizon. Occurrences
  are unique by (schedule, due time), so re-planning, a restart or two planners racing
  can never create a second one.
* `advance` moves due occurrences on: a reminder (or a late one, within the grace
  period) goes into the outbox in the same transaction; older ones become missed; no
  answer brings one nudge, then missed; a snooze brings the reminder back.

Each step is one short transaction and can be run again at any time: APScheduler only
decides *when* they run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from assistant import texts
from assistant.config import Settings
from assistant.domain import dues, zones
from assistant.domain.schedule_specs import timing_of
from assistant.services import alerts, reminders
from assistant.storage.db import insert_or_ignore, is_postgres, session, utcnow
from assistant.storage.models import (
    PRIORITY,
    AlertKind,
    AlertSeverity,
    CareTeam,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Medication,
    MessageKind,
    OutboxMessage,
    Patient,
    PatientStatus,
)

# A reminder sent more than this after its time says it is late.
LATE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Policy:
    horizon: timedelta
    grace: timedelta
    followup: timedelta
    snooze_minutes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(horizon=timedelta(hours=settings.plan_horizon_hours),
                   grace=timedelta(minutes=settings.grace_minutes),
                   followup=timedelta(minutes=settings.followup_minutes),
                   snooze_minutes=settings.snooze_minutes)

    def for_team(self, team: CareTeam) -> Policy:
        """The team's own grace period and follow-up delay, where it set them."""
        return replace(
            self,
            grace=self.grace if team.grace_minutes is None
            else timedelta(minutes=team.grace_minutes),
            followup=self.followup if team.followup_minutes is None
            else timedelta(minutes=team.followup_minutes))


def _insert_ignoring_duplicates(db: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    db.execute(insert_or_ignore(db, DoseOccurrence.__table__), rows)  # type: ignore[attr-defined]


def plan(db: Session, policy: Policy, now: datetime | None = None, batch: int = 2000) -> int:
    """Create occurrences up to `now + horizon` for schedules not planned that far; returns
    how many schedules were extended."""
    now = now or utcnow()
    until = now + policy.horizon
    # Re-plan a little before the horizon runs out, not at every tick.
    threshold = until - policy.horizon / 4
    rows = db.exec(
        select(DoseSchedule, Patient.timezone, Medication.patient_id)
        .join(Medication, col(Medication.id) == DoseSchedule.medication_id)
        .join(Patient, col(Patient.id) == Medication.patient_id)
        .where(DoseSchedule.active, Medication.active, Patient.status != PatientStatus.stopped,
               ~col(DoseSchedule.as_needed),
               col(DoseSchedule.planned_until).is_(None)
               | (col(DoseSchedule.planned_until) < threshold))
        .limit(batch)
    ).all()
    new: list[dict[str, Any]] = []
    for row, tz_name, patient_id in rows:
        # Never before the schedule was written: a dose due before it existed is not missed.
        start = max(row.planned_until or row.updated_at, now - policy.grace, row.updated_at)
        for due in dues.expand(timing_of(row), zones.zone(tz_name), start, until):
            new.append({"schedule_id": row.id, "medication_id": row.medication_id,
                        "patient_id": patient_id, "due_at": due, "status": DoseStatus.planned,
                        "reminders_sent": 0})
    _insert_ignoring_duplicates(db, new)
    ids = [row.id for row, _, _ in rows]
    db.execute(update(DoseSchedule).where(col(DoseSchedule.id).in_(ids))
               .values(planned_until=until).execution_options(synchronize_session=False))
    return len(rows)


def _lock(db: Session, query: Any) -> Any:
    """Claim rows: on PostgreSQL other workers skip the ones this one holds."""
    if is_postgres(db.get_bind()):  # type: ignore[arg-type]
        return query.with_for_update(skip_locked=True, of=DoseOccurrence)
    return query


def _remind(db: Session, occ: DoseOccurrence, med: Medication, patient: Patient,
            policy: Policy, now: datetime, kind: MessageKind) -> None:
    tz = zones.zone(patient.timezone)
    text = reminders.reminder(med, occ.due_at, tz, late=now - occ.due_at > LATE_AFTER,
                             nudge=kind is MessageKind.nudge, language=patient.language)
    occ.reminders_sent += 1
    db.add(OutboxMessage(
        patient_id=patient.id, kind=kind, priority=PRIORITY[kind], text=text,
        buttons=reminders.dose_buttons(occ.id, policy.snooze_minutes,
                                       patient.language), occurrence_id=occ.id,
        dedupe_key=f"dose:{occ.id}:{occ.reminders_sent}", not_before=now))
    occ.status = DoseStatus.sent
    occ.sent_at = occ.sent_at or now
    occ.remind_at = now + policy.followup


def _missed(db: Session, occ: DoseOccurrence, patient: Patient, team: CareTeam,
            now: datetime) -> None:
    occ.status = DoseStatus.missed
    occ.outcome_at = now
    occ.outcome_source = "scheduler"
    occ.remind_at = None
    db.flush()
    streak = team.missed_alert_after
    last = db.exec(select(DoseOccurrence.status)
                   .where(DoseOccurrence.patient_id == patient.id,
                          col(DoseOccurrence.status).in_(
                              [DoseStatus.taken, DoseStatus.skipped, DoseStatus.missed]))
                   .order_by(col(DoseOccurrence.due_at).desc()).limit(streak)).all()
    if len(last) == streak and all(s == DoseStatus.missed for s in last):
        alerts.raise_alert(db, patient=patient, kind=AlertKind.missed_doses,
                           severity=AlertSeverity.high, once=True,
                           summary=texts.t("alert.missed_in_a_row", count=streak))


def advance(db: Session, policy: Policy, now: datetime | None = None, batch: int = 500) -> int:
    """Move every occurrence whose moment has come one step on; returns how many moved."""
    now = now or utcnow()
    query = (select(DoseOccurrence, Medication, Patient, CareTeam)
             .join(Medication, col(Medication.id) == DoseOccurrence.medication_id)
             .join(Patient, col(Patient.id) == DoseOccurrence.patient_id)
             .join(CareTeam, col(CareTeam.id) == Patient.team_id)
             .where((col(DoseOccurrence.status) == DoseStatus.planned)
                    & (col(DoseOccurrence.due_at) <= now)
                    | col(DoseOccurrence.status).in_([DoseStatus.sent, DoseStatus.snoozed])
                    & (col(DoseOccurrence.remind_at) <= now))
             .order_by(col(DoseOccurrence.due_at))
             .limit(batch))
    rows: Sequence[tuple[DoseOccurrence, Medication, Patient, CareTeam]] = db.exec(
        _lock(db, query)).all()
    for occ, med, patient, team in rows:
        _step(db, occ, med, patient, team, policy.for_team(team), now)
    return len(rows)


def _step(db: Session, occ: DoseOccurrence, med: Medication, patient: Patient,
          team: CareTeam, policy: Policy, now: datetime) -> None:
    if patient.status != PatientStatus.active or not med.active:
        occ.status = DoseStatus.cancelled  # paused or stopped: nothing is sent or counted
        occ.remind_at = None
    elif occ.status == DoseStatus.planned:
        if now - occ.due_at > policy.grace:
            _missed(db, occ, patient, team, now)  # after downtime: too late to be useful
        else:
            _remind(db, occ, med, patient, policy, now, MessageKind.reminder)
    elif occ.status == DoseStatus.snoozed:
        _remind(db, occ, med, patient, policy, now, MessageKind.reminder)
    elif occ.reminders_sent < 2 and now - occ.due_at <= policy.grace + policy.followup:
        _remind(db, occ, med, patient, policy, now, MessageKind.nudge)
    else:
        _missed(db, occ, patient, team, now)


def run_once(engine: Engine, policy: Policy, now: datetime | None = None) -> None:
    """One planning pass and one advance pass, each in its own transaction."""
    with session(engine) as db:
        while plan(db, policy, now):
            db.commit()
    with session(engine) as db:
        while advance(db, policy, now):
            db.commit()
