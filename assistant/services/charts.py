"""A patient's charts for the console. Monitoring: per measure they have readings of, over
7, 30 or 90 days, the readings with the targets in force (bands), the baseline their trend
is judged against (weight, resting heart rate, systolic), their alerts' evidence times, and
the table of the newest readings graded against the targets. Adherence: a bar a local day
and every missed dose of the period grouped by day. Read only; the geometry is
`domain.charts` and `domain.adherence_chart`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assistant.domain import adherence_chart, charts, trends, zones
from assistant.domain.measures import MEASURES
from assistant.errors import InvalidInput
from assistant.services import doses, targets, views
from assistant.storage.db import utcnow
from assistant.storage.models import Alert, Patient, Reading

SPANS = (7, 30, 90)
MOST_POINTS = 600    # per chart: more (a CGM) is thinned, keeping each run's low and high
TABLE_ROWS = 100     # per measure's table: the newest


def patient_charts(db: Session, patient: Patient, *, days: int = 30,
                   now: datetime | None = None) -> list[charts.Chart]:
    """One chart per measure the patient has readings of in the last `days` days (one of
    SPANS), in the order measures are listed."""
    if days not in SPANS:
        raise InvalidInput(f"days: one of {', '.join(map(str, SPANS))}")
    now = now or utcnow()
    start = now - timedelta(days=days)
    since = min(start, now - trends.BASELINE_FROM)
    # Columns, not objects: a CGM gives thousands of readings in 90 days.
    by_measure: dict[str, list[charts.Sample]] = {}
    columns = (col(Reading.kind), col(Reading.taken_at), col(Reading.value),
               col(Reading.value2), col(Reading.source))
    for kind, at, value, value2, source in db.execute(sa_select(*columns)
            .where(col(Reading.patient_id) == patient.id, col(Reading.taken_at) >= since,
                   col(Reading.taken_at) <= now)
            .order_by(col(Reading.taken_at), col(Reading.id))):
        by_measure.setdefault(kind, []).append(charts.Sample(at, value, value2, source))
    marks = db.exec(select(Alert).where(
        Alert.patient_id == patient.id, col(Alert.measure).is_not(None),
        col(Alert.evidence_at) >= start, col(Alert.evidence_at) <= now)
        .order_by(col(Alert.evidence_at))).all()
    in_force = targets.plan(db, patient).targets
    zone = zones.zone(patient.timezone)
    found = []
    for measure in MEASURES:
        mine = by_measure.get(measure, [])
        shown = [s for s in mine if s.at >= start]
        if not shown:
            continue
        target = in_force.get(measure)
        levels, levels2 = (target.value, target.value2) if target else (None, None)
        chart = charts.build(
            measure=measure, unit=MEASURES[measure].label,
            samples=charts.thin(shown, most=MOST_POINTS), count=len(shown),
            start=start, end=now, zone=zone,
            levels=levels, levels2=levels2, baseline=_baseline(measure, mine, now),
            marks=[charts.Mark(a.evidence_at, str(a.severity), a.summary) for a in marks
                   if a.measure == measure and a.evidence_at is not None])
        chart.rows = charts.table(shown, levels=levels, levels2=levels2, most=TABLE_ROWS)
        found.append(chart)
    return found


@dataclass(frozen=True)
class Adherence:
    """The adherence chart and every missed dose of its period, by local day."""
    chart: adherence_chart.Chart
    missed: list[tuple[date, list[tuple[datetime, str]]]]
    missed_count: int


def adherence(db: Session, patient: Patient, *, days: int = 30,
              now: datetime | None = None) -> Adherence:
    """The last `days` local days of doses, and the doses missed in them (all of them)."""
    now, tz = now or utcnow(), zones.zone(patient.timezone)
    series = views.daily_adherence(db, patient, days, now)
    # The same local days as the chart (a rolling `days` may start inside the first one).
    missed = [(at, name) for at, name in doses.adherence(db, patient.id, days + 1,
                                                         now).missed_doses
              if at.astimezone(tz).date() >= series[0].day]
    return Adherence(adherence_chart.build(series), adherence_chart.by_day(missed, tz),
                     len(missed))


def _baseline(measure: str, samples: list[charts.Sample], now: datetime) -> float | None:
    """The patient's own baseline now (as the trend detector learns it: the median of the
    readings 7 to 28 days ago), for the measures with a trend; None before it is learned."""
    spec = trends.TREND_SPECS.get(measure)
    if spec is None:
        return None
    values = [s.value for s in samples
              if now - trends.BASELINE_FROM <= s.at <= now - trends.BASELINE_TO]
    found = trends.baseline(values, min_sd=spec.min_sd)
    return found.level if found else None
