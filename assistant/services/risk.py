"""Monitoring risk: which of a team's patients their readings say to look at first, and why
(the patients list sorted by monitoring risk). Read only.

The order, most at risk first:

1. open urgent monitoring alerts (out of range, trend, forecast or missing data), most first;
2. then open high alerts of readings out of range or missing data;
3. then open trend or forecast alerts (a drift from the patient's baseline, a predicted low);
4. then readings out of range against the targets in force in the last `RECENT_DAYS` days;
5. then everyone else; ties by name.

"Open" counts acknowledged alerts too: they are not resolved yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from assistant.domain import findings
from assistant.services import targets
from assistant.storage.db import utcnow
from assistant.storage.models import Alert, AlertKind, AlertSeverity, AlertStatus, Patient, Reading

RECENT_DAYS = 3
_TRENDS = (AlertKind.trend, AlertKind.forecast)


@dataclass(frozen=True)
class Risk:
    urgent: int = 0
    high: int = 0
    trend: int = 0
    out_of_range: int = 0
    reason: str = "no monitoring concern"

    def key(self) -> tuple[int, int, int, int]:
        return (-self.urgent, -self.high, -self.trend, -self.out_of_range)


def _names(measures: Iterable[str | None]) -> str:
    return ", ".join(sorted({findings.label(m) for m in measures if m}))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _out_of_range(db: Session, patient: Patient, since: datetime) -> list[Reading]:
    in_force = targets.plan(db, patient).targets
    found = db.exec(select(Reading).where(Reading.patient_id == patient.id,
                                          col(Reading.taken_at) >= since)).all()
    return [r for r in found if targets.grade(in_force, r) is not None]


def risks(db: Session, patients: Iterable[Patient], now: datetime | None = None
          ) -> dict[int, Risk]:
    """Each patient's monitoring risk (by patient id)."""
    now = now or utcnow()
    chosen = list(patients)
    alerts = db.exec(select(Alert).where(
        col(Alert.patient_id).in_([p.id for p in chosen]), col(Alert.measure).is_not(None),
        Alert.status != AlertStatus.resolved)).all()
    found = {}
    for patient in chosen:
        mine = [a for a in alerts if a.patient_id == patient.id]
        urgent = [a for a in mine if a.severity == AlertSeverity.urgent]
        high = [a for a in mine if a.severity != AlertSeverity.urgent and a.kind not in _TRENDS]
        trend = [a for a in mine if a.severity != AlertSeverity.urgent and a.kind in _TRENDS]
        out = _out_of_range(db, patient, now - timedelta(days=RECENT_DAYS))
        if urgent:
            reason = f"{_plural(len(urgent), 'urgent alert')}: {_names(a.measure for a in urgent)}"
        elif high:
            reason = f"{_plural(len(high), 'high alert')}: {_names(a.measure for a in high)}"
        elif trend:
            reason = (f"{' and '.join(sorted({str(a.kind) for a in trend}))}: "
                      f"{_names(a.measure for a in trend)}")
        elif out:
            reason = (f"{_plural(len(out), 'reading')} out of range in {RECENT_DAYS} days: "
                      f"{_names(r.kind for r in out)}")
        else:
            reason = Risk.reason
        found[patient.id] = Risk(len(urgent), len(high), len(trend), len(out), reason)
    return found
