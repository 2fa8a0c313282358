"""API: a patient's monitoring targets: what is in force per measure and where it comes
from (the patient's own, the team's default, CareLoop's default), and setting them; a
condition preset is applied only when the request names it, confirmed by the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from assistant.domain.targets import PRESETS, Levels, Target
from assistant.interfaces.web.api.common import router
from assistant.interfaces.web.deps import DB, ApiCaller, Id
from assistant.interfaces.web.schemas import In
from assistant.services import audit, patients, targets

LEVEL = Field(default=None, allow_inf_nan=False, ge=-1000, le=200_000)


class LevelsBody(In):
    urgent_low: float | None = LEVEL
    warning_low: float | None = LEVEL
    warning_high: float | None = LEVEL
    urgent_high: float | None = LEVEL


class TargetBody(In):
    measure: str = Field(max_length=32)
    value: LevelsBody
    value2: LevelsBody | None = None      # blood pressure: the diastolic
    persist_count: int = Field(default=2, ge=1, le=100)
    persist_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    expect_every_hours: float | None = Field(default=None, gt=0, le=24 * 14)


class TargetsIn(In):
    targets: list[TargetBody] = Field(default_factory=list, max_length=50)
    preset: str | None = Field(default=None, max_length=32)   # applied only when named


class TargetOut(BaseModel):
    measure: str
    value: LevelsBody
    value2: LevelsBody | None
    persist_count: int
    persist_minutes: int | None
    source: str                           # patient, team or default
    expect_every_hours: float | None = None
    preset: str | None = None
    confirmed_by: int | None = None
    confirmed_at: datetime | None = None


def _levels(levels: LevelsBody) -> Levels:
    return Levels(**levels.model_dump())


def _out(levels: Levels | None) -> LevelsBody | None:
    return None if levels is None else LevelsBody(
        urgent_low=levels.urgent_low, warning_low=levels.warning_low,
        warning_high=levels.warning_high, urgent_high=levels.urgent_high)


def _targets_out(db: DB, patient_id: int, team_id: int) -> dict[str, Any]:
    patient = patients.get_patient(db, patient_id, team_id=team_id)
    own = {r.measure: r for r in targets.rows(db, patient)[1]}
    shown: list[TargetOut] = []
    rows_in_force: list[tuple[str, Target, str]] = targets.in_force(db, patient)
    for measure, target, source in rows_in_force:
        row = own.get(measure)
        shown.append(TargetOut(
            measure=measure, value=_out(target.value) or LevelsBody(),
            value2=_out(target.value2), persist_count=target.persist_count,
            persist_minutes=target.persist_minutes, source=source,
            expect_every_hours=row.expect_every_hours if row else None,
            preset=row.preset if row else None,
            confirmed_by=row.confirmed_by if row else None,
            confirmed_at=row.confirmed_at if row else None))
    return {"targets": shown,
            "presets": [{"name": p.condition, "source": p.source, "notes": list(p.notes)}
                        for p in PRESETS.values()]}


@router.get("/patients/{patient_id}/targets", tags=["targets"])
def get_targets(db: DB, caller: ApiCaller, patient_id: Id) -> dict[str, Any]:
    """Each measure's target in force and its source; the presets a clinician can confirm."""
    found = _targets_out(db, patient_id, caller.team_id)
    audit.record_read(db, actor=caller.actor, action="targets.view", patient_id=patient_id)
    return found


@router.put("/patients/{patient_id}/targets", tags=["targets"])
def put_targets(db: DB, caller: ApiCaller, patient_id: Id, body: TargetsIn) -> dict[str, Any]:
    """Replace the patient's own targets (levels checked: low below high, warning inside
    urgent); with `preset`, that condition's suggested targets too, confirmed by the
    caller. Measures left out fall back to the team default."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    targets.set_targets(
        db, patient=patient, actor=caller.actor, member_id=caller.member.id,
        preset=body.preset,
        items=[targets.TargetIn(t.measure, _levels(t.value),
                                _levels(t.value2) if t.value2 else None,
                                persist_count=t.persist_count,
                                persist_minutes=t.persist_minutes,
                                expect_every_hours=t.expect_every_hours)
               for t in body.targets])
    return _targets_out(db, patient_id, caller.team_id)
