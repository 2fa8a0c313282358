"""Alert burden: how many alerts a team and each of its patients had per patient-week,
and the share that clinicians marked useful, so thresholds can be tuned with numbers.

The window is the last four weeks (`WEEKS`), an alert counted by when it was raised. A
patient's weeks in the window run from when they were added (or the window's start) to its
end, at least a day (a patient added an hour ago would otherwise make any alert look like
hundreds a week); the team's are the sum over its patients. Alerts of all kinds are counted, and the
monitoring kinds (reading, trend, forecast, missing data: what the thresholds decide)
apart. The useful share is of the alerts marked useful or not, never of all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from assistant.storage.db import utcnow
from assistant.storage.models import Alert, AlertKind, AlertStatus, CareTeam, Patient

WEEKS = 4
LEAST = timedelta(days=1)   # the fewest days a patient counts for
MONITORING = frozenset({AlertKind.reading, AlertKind.trend, AlertKind.forecast,
                        AlertKind.missing_data})


@dataclass(frozen=True)
class Burden:
    """One row: the team's (patient_id None) or one patient's."""

    patient_id: int | None
    name: str
    patient_weeks: float  # exact; shown rounded
    alerts: int
    monitoring_alerts: int
    resolved: int
    marked: int           # marked useful or not useful
    useful: int

    @property
    def per_patient_week(self) -> float | None:
        return round(self.alerts / self.patient_weeks, 2) if self.patient_weeks else None

    @property
    def monitoring_per_patient_week(self) -> float | None:
        return (round(self.monitoring_alerts / self.patient_weeks, 2)
                if self.patient_weeks else None)

    @property
    def useful_share(self) -> float | None:
        return round(self.useful / self.marked, 2) if self.marked else None


@dataclass(frozen=True)
class TeamBurden:
    since: datetime
    until: datetime
    team: Burden
    patients: list[Burden]   # most alerts first; patients with none left out


def _row(patient_id: int | None, name: str, weeks: float, found: list[Alert]) -> Burden:
    marked = [a for a in found if a.useful is not None]
    return Burden(patient_id=patient_id, name=name, patient_weeks=weeks,
                  alerts=len(found),
                  monitoring_alerts=sum(a.kind in MONITORING for a in found),
                  resolved=sum(a.status == AlertStatus.resolved for a in found),
                  marked=len(marked), useful=sum(bool(a.useful) for a in marked))


def alert_burden(db: Session, team_id: int, *, now: datetime | None = None) -> TeamBurden:
    until = now or utcnow()
    since = until - timedelta(weeks=WEEKS)
    team = db.get(CareTeam, team_id)
    patients = db.exec(select(Patient).where(Patient.team_id == team_id,
                                             Patient.created_at < until)).all()
    weeks = {p.id: max(LEAST, until - max(since, p.created_at)) / timedelta(weeks=1)
             for p in patients}
    found = list(db.exec(select(Alert).where(Alert.team_id == team_id,
                                             Alert.created_at >= since,
                                             Alert.created_at < until)).all())
    rows = [_row(p.id, p.display_name, weeks[p.id],
                 [a for a in found if a.patient_id == p.id]) for p in patients]
    rows = sorted((r for r in rows if r.alerts),
                  key=lambda r: (-r.alerts, -(r.per_patient_week or 0), r.patient_id or 0))
    return TeamBurden(since=since, until=until,
                      team=_row(None, team.name if team else "", sum(weeks.values()), found),
                      patients=rows)
