"""A realistic ward for console tests: 150 patients (three called "Ada Okafor", born on
different days; most with a record number; two in three with a linked chat) and 300
alerts of every kind, severity and status over the last three days, seeded through the
services (so each alert has its history) in one unit of work, in about a second.

Among them, named in the returned `Ward`: one patient's blood pressure reading alert
repeated 7 times (open), patients' questions, urgent unassigned alerts, alerts assigned to
the given members, resolved ones with a note. Deterministic (a seeded random)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from assistant.services import alerts
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    CareTeam,
    ChatLink,
    Patient,
)

FIRST = ["Ada", "Bola", "Chen", "Dara", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jon",
         "Kemi", "Lars", "Mona", "Nia", "Omar", "Pia", "Raj", "Sara", "Tom", "Uma"]
LAST = ["Okafor", "Smith", "Novak", "Garcia", "Kowalski", "Mensah", "Ito", "Silva",
        "Brown", "Haddad", "Jensen", "Rossi"]
TWIN_NAME = "Ada Okafor"
TWIN_BORN = (date(1948, 3, 2), date(1961, 7, 19), date(1975, 11, 30))
OTHER_KINDS = [AlertKind.question, AlertKind.symptom, AlertKind.missed_doses,
               AlertKind.refill, AlertKind.unreachable, AlertKind.schedule_change,
               AlertKind.emergency]
MEASURES = [("systolic", "high"), ("glucose", "low"), ("weight", "high"), ("spo2", "low")]


@dataclass
class Ward:
    team_id: int
    patient_ids: list[int]
    twins: list[int]                        # the three "Ada Okafor"
    linked: set[int]                        # patients with a chat
    repeated: list[int]                     # one patient's 7 systolic-high reading alerts
    repeated_patient: int
    questions: list[int] = field(default_factory=list)
    urgent_unassigned: list[int] = field(default_factory=list)   # open ones
    assigned: dict[int, int] = field(default_factory=dict)      # alert id: member id


def seed_ward(team_id: int, members: list[int], *, patients: int = 150, count: int = 300,
              seed: int = 15, now: datetime | None = None) -> Ward:
    """The ward in `team_id`; `members` (ids of active members) get some alerts assigned,
    and the first of them acknowledges and resolves some."""
    rng = random.Random(seed)
    now = now or utcnow()
    with session() as db:
        team = db.get(CareTeam, team_id)
        assert team is not None
        people = _patients(db, team, patients, rng)
        ids = [p.id for p in people]
        linked = {pid for i, pid in enumerate(ids) if i % 3 != 2}
        db.add_all(ChatLink(patient_id=pid, channel="console", chat_id=f"ward-{pid}")
                   for pid in linked)
        ward = Ward(team_id, ids, ids[:3], linked, [], ids[3])
        for n in range(7):   # a reading out of range, again and again
            ward.repeated.append(_monitoring(db, people[3], "systolic", "high",
                                             AlertSeverity.high, now - timedelta(hours=60 - n)))
        for n in range(count - 7):
            patient = people[n] if n < 3 else people[rng.randrange(len(people))]
            at = now - timedelta(minutes=rng.randrange(10, 72 * 60))
            if n % 3 == 0:
                measure, direction = MEASURES[n % len(MEASURES)]
                severity = AlertSeverity.urgent if n % 9 == 0 else AlertSeverity.high
                alert_id = _monitoring(db, patient, measure, direction, severity, at)
            else:
                kind = OTHER_KINDS[n % len(OTHER_KINDS)]
                severity = (AlertSeverity.urgent if kind == AlertKind.emergency
                            else AlertSeverity.high if kind == AlertKind.missed_doses
                            else AlertSeverity.normal)
                alert_id = _raise(db, patient, kind, severity, at)
                if kind == AlertKind.question:
                    ward.questions.append(alert_id)
            _work_on(db, ward, alert_id, n, members, at)
    return ward


def _patients(db: Session, team: CareTeam, n: int, rng: random.Random) -> list[Patient]:
    people = []
    for i in range(n):
        name = TWIN_NAME if i < 3 else f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        name = "Ada Okoro" if i >= 3 and name == TWIN_NAME else name   # only three
        born = (TWIN_BORN[i] if i < 3 else
                date(1930 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28)))
        people.append(Patient(team_id=team.id, display_name=name, timezone="Europe/London",
                              birth_date=born,
                              record_number=f"RN{10000 + i}" if i % 5 else None))
    db.add_all(people)
    db.flush()
    return people


def _raise(db: Session, patient: Patient, kind: AlertKind, severity: AlertSeverity,
           at: datetime) -> int:
    summary = {AlertKind.question: "Can I take ibuprofen with my tablets?",
               AlertKind.symptom: "Reports ankles more swollen since yesterday",
               AlertKind.emergency: "Said: chest pain, cannot breathe"}.get(
        kind, f"{kind.replace('_', ' ')} for {patient.display_name}")
    alert = alerts.raise_alert(db, patient=patient, kind=kind, severity=severity,
                               summary=summary)
    assert alert is not None
    _backdate(db, alert, at)
    return alert.id


def _monitoring(db: Session, patient: Patient, measure: str, direction: str,
                severity: AlertSeverity, at: datetime) -> int:
    alert = alerts.open_monitoring(db, patient=patient, kind=AlertKind.reading,
                                   severity=severity, measure=measure, direction=direction,
                                   summary=f"{measure} {direction}: out of range",
                                   evidence_at=at, at=at)
    _backdate(db, alert, at)
    return alert.id


def _backdate(db: Session, alert: Alert, at: datetime) -> None:
    alert.created_at = at
    db.add(alert)
    for event in db.exec(select(AlertEvent).where(AlertEvent.alert_id == alert.id)):
        event.at = at


def _work_on(db: Session, ward: Ward, alert_id: int, n: int, members: list[int],
             at: datetime) -> None:
    """A share of the alerts assigned, acknowledged or resolved, as a team works."""
    alert = db.get(Alert, alert_id)
    assert alert is not None
    actor = f"member:{members[0]}"
    if n % 5 == 1:
        member = members[n % len(members)]
        alerts.update_alert(db, alert, actor=actor, assigned_to=member)
        ward.assigned[alert_id] = member
    if n % 7 == 2:
        alerts.update_alert(db, alert, actor=actor, status=AlertStatus.acknowledged)
    elif n % 4 == 3:
        alerts.update_alert(db, alert, actor=actor, status=AlertStatus.resolved,
                            note="called the patient", useful=n % 8 == 3)
    if (alert.severity == AlertSeverity.urgent and alert.status == AlertStatus.open
            and alert.assigned_to is None):
        ward.urgent_unassigned.append(alert_id)
