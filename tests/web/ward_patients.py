"""A realistic ward for the patient-list tests: about 150 patients of one team with a
week of doses (three a day) and the alerts a community nurse meets, written straight to
the database (fast). Every time is relative to `now`, and each patient's last dose is in
the patient's today.

The named patients and what a nurse should see of them:

- Henry Osei: an open urgent blood pressure alert ("urgent: BP 182/110 mmHg ...");
- Tomas Weber: 18 of 21 taken, then the last 3 missed (the last today), with the "missed
  in a row" alert;
- Grace Mensah: 6 of 21 taken this week (29 %), today's dose taken;
- Rosa Lindqvist: 100 %, blood pressure high twice this week (two reading alerts);
- Piotr Nowak: unreachable chat; Nadia Haddad: no chat yet; Owen Price: silent 5 days;
- Lena Fischer: 20 of 21, today's dose missed; Ines Duarte: paused, 52 %;
- Mia Berg ... (five): 100 % or 95 % with a couple of non-urgent alerts;
- three "Ada Okafor": told apart by date of birth and record number;
- Kenji Sato in Asia/Tokyo; the rest: fine, 95–100 %.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from assistant.storage.db import session
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    ChatLink,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Medication,
    Patient,
    PatientStatus,
)

DOSES = 21   # three a day for a week
MINOR = ("Mia Berg", "Noah Clarke", "Olga Ivanova", "Paul Dubois", "Quinn Murphy")
FILLERS = 132
FIRST = ("Anna", "Ben", "Carla", "David", "Eva", "Farid", "Gita", "Hugo", "Iris", "Jon",
         "Kira", "Liam", "Maya", "Nils", "Omar", "Pia")
LAST = ("Adler", "Brook", "Costa", "Diaz", "Eze", "Fox", "Grant")


def _dues(now: datetime, tz_name: str) -> list[datetime]:
    """DOSES times, 8 h apart, the newest in the patient's today and not after now."""
    tz = ZoneInfo(tz_name)
    local_midnight = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tz)
    last = max(now - timedelta(minutes=30), local_midnight.astimezone(UTC))
    return [last - timedelta(hours=8 * k) for k in reversed(range(DOSES))]


def _outcomes(taken: int, *, missed_last: int = 0) -> list[DoseStatus]:
    """Oldest first: `taken` of DOSES taken, the misses spread over the older doses (the
    newest taken), unless the last `missed_last` doses were missed."""
    outcome = [DoseStatus.taken] * DOSES
    misses, slots = DOSES - taken - missed_last, DOSES - missed_last - 1
    for n in range(misses):
        outcome[n * slots // misses] = DoseStatus.missed
    for n in range(missed_last):
        outcome[DOSES - 1 - n] = DoseStatus.missed
    return outcome


def seed_ward(team_id: int, now: datetime) -> dict[str, int]:
    """The ward above; the named patients' ids by name (and "Ada Okafor 1".."3")."""
    plans: list[dict[str, Any]] = [
        {"name": "Henry Osei", "urgent": "Blood pressure 182/110 mmHg is above the urgent "
                                          "limit 180/110; confirmed by a second reading"},
        {"name": "Tomas Weber", "taken": 18, "missed_last": 3, "streak_alert": True},
        {"name": "Grace Mensah", "taken": 6},
        {"name": "Rosa Lindqvist", "bp_high": 2},
        {"name": "Piotr Nowak", "chat": "unreachable"},
        {"name": "Nadia Haddad", "chat": "not linked"},
        {"name": "Owen Price", "silent_days": 5},
        {"name": "Lena Fischer", "taken": 20, "missed_last": 1},
        {"name": "Ines Duarte", "taken": 11, "status": PatientStatus.paused},
        {"name": "Kenji Sato", "tz": "Asia/Tokyo"},
    ]
    plans += [{"name": name, "taken": 21 - n % 2, "minor": 2} for n, name in enumerate(MINOR)]
    plans += [{"name": "Ada Okafor", "key": f"Ada Okafor {n}", "born": date(1948 + 20 * n, 3, 2),
               "record": f"MRN-{n:04d}"} for n in (1, 2, 3)]
    plans += [{"name": f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}-{n}",
               "taken": 21 - n % 3 // 2} for n in range(FILLERS)]
    ids: dict[str, int] = {}
    with session() as db:
        for n, plan in enumerate(plans):
            patient = Patient(team_id=team_id, display_name=plan["name"],
                              timezone=plan.get("tz", "UTC"),
                              status=plan.get("status", PatientStatus.active),
                              birth_date=plan.get("born", date(1940 + n % 45, 1 + n % 12, 9)),
                              record_number=plan.get("record", f"W{n:05d}"),
                              last_contact_at=now - timedelta(days=plan.get("silent_days", 0),
                                                              hours=2))
            db.add(patient)
            db.flush()
            ids[plan.get("key", plan["name"])] = patient.id
            _doses(db, patient, plan, now)
            _alerts(db, patient, plan, now)
            chat = plan.get("chat", "linked")
            if chat != "not linked":
                db.add(ChatLink(patient_id=patient.id, chat_id=f"ward-{team_id}-{n}",
                                linked_at=now - timedelta(days=30),
                                unreachable_at=now - timedelta(days=2)
                                if chat == "unreachable" else None))
    return ids


def _doses(db: Session, patient: Patient, plan: dict[str, Any], now: datetime) -> None:
    med = Medication(patient_id=patient.id, name="Ramipril", strength="5 mg")
    db.add(med)
    db.flush()
    schedule = DoseSchedule(medication_id=med.id, times_of_day=["06:00", "14:00", "22:00"],
                            start_date=(now - timedelta(days=8)).date(), planned_until=now)
    db.add(schedule)
    db.flush()
    outcomes = _outcomes(plan.get("taken", DOSES), missed_last=plan.get("missed_last", 0))
    for due, status in zip(_dues(now, patient.timezone), outcomes, strict=True):
        db.add(DoseOccurrence(schedule_id=schedule.id, medication_id=med.id,
                              patient_id=patient.id, due_at=due, status=status,
                              outcome_at=due + timedelta(minutes=20)))
    db.add(DoseOccurrence(schedule_id=schedule.id, medication_id=med.id,
                          patient_id=patient.id, due_at=now + timedelta(days=2),
                          status=DoseStatus.planned))


def _alerts(db: Session, patient: Patient, plan: dict[str, Any], now: datetime) -> None:
    def alert(kind: AlertKind, severity: AlertSeverity, summary: str, **more: object) -> None:
        db.add(Alert(patient_id=patient.id, team_id=patient.team_id, kind=kind,
                     severity=severity, summary=summary, **more))

    if plan.get("urgent"):
        alert(AlertKind.reading, AlertSeverity.urgent, plan["urgent"], measure="blood_pressure",
              direction="high", evidence_at=now - timedelta(hours=1))
    if plan.get("streak_alert"):
        alert(AlertKind.missed_doses, AlertSeverity.high, "3 doses missed in a row.")
    for n in range(plan.get("bp_high", 0)):
        alert(AlertKind.reading, AlertSeverity.high, "Blood pressure 162/98 mmHg is above "
              "the target 140/90", measure="blood_pressure", direction="high",
              created_at=now - timedelta(days=1 + 2 * n), evidence_at=now - timedelta(days=1),
              status=AlertStatus.resolved if n else AlertStatus.open)
    for n in range(plan.get("minor", 0)):
        alert(AlertKind.question if n else AlertKind.symptom,
              AlertSeverity.high if n else AlertSeverity.normal,
              "Question from the patient: can I take it with tea?" if n
              else "Symptom reported: a mild headache")
