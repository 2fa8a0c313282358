"""Lifestyle advice: the care team's items chosen for a patient's conditions and goals.

Never the same item twice in a row; the least recently given first. When the team
wrote nothing that fits, generic safe items (team_id NULL, shipped by a migration)
are used. CareLoop never writes medical advice of its own.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, or_, select

from assistant.storage.db import utcnow
from assistant.storage.models import AdviceDelivery, AdviceItem, Patient


def _fits(item: AdviceItem, wanted: set[str]) -> bool:
    return bool({tag.lower() for tag in item.tags} & wanted)


def choose(db: Session, patient: Patient) -> AdviceItem | None:
    items = db.exec(select(AdviceItem).where(
        AdviceItem.active,
        or_(col(AdviceItem.team_id) == patient.team_id, col(AdviceItem.team_id).is_(None)))
    ).all()
    wanted = {tag.lower() for tag in [*patient.conditions, *patient.goals]}
    own = [i for i in items if i.team_id == patient.team_id]
    pool = ([i for i in own if _fits(i, wanted)] or [i for i in own if not i.tags]
            or [i for i in items if i.team_id is None])
    if not pool:
        return None
    given = db.exec(select(AdviceDelivery).where(AdviceDelivery.patient_id == patient.id)
                    .order_by(col(AdviceDelivery.delivered_at))).all()
    last_given = {d.advice_id: d.delivered_at for d in given}
    previous = given[-1].advice_id if given else None
    candidates = [i for i in pool if i.id != previous] or pool
    return min(candidates, key=lambda i: (i.id in last_given, last_given.get(i.id), i.id))


def deliver(db: Session, patient: Patient, item: AdviceItem, local_day: date) -> str:
    """Record that the item is given today; returns the text to send."""
    db.add(AdviceDelivery(patient_id=patient.id, advice_id=item.id, local_day=local_day,
                          delivered_at=utcnow()))
    return f"💡 {item.title}\n{item.body}"
