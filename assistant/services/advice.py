"""Lifestyle advice: the care team's library of items, and the item chosen for a patient's
conditions and goals, said in the patient's language.

An item is written in English, with a translation per language the team adds
(`save_translation`); a patient whose language it lacks gets the English (`missing`
lists the languages an item lacks, for the console).

Never the same item twice in a row; the least recently given first. When the team
wrote nothing that fits, generic safe items (team_id NULL, shipped by a migration)
are used. CareLoop never writes medical advice of its own.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, or_, select

from assistant import texts
from assistant.domain import zones
from assistant.domain.fields import clean_text
from assistant.errors import InvalidInput, NotFound
from assistant.services import audit
from assistant.storage.db import utcnow
from assistant.storage.models import AdviceDelivery, AdviceItem, Patient

# The library ---------------------------------------------------------------------------


def _tags(tags: list[str]) -> list[str]:
    cleaned = sorted({" ".join(t.lower().split())[:40] for t in tags if t.strip()})
    if len(cleaned) > 20:
        raise InvalidInput("tags: at most 20")
    return cleaned


def save_advice(db: Session, team_id: int, *, title: str, body: str, tags: list[str],
                actor: str, item: AdviceItem | None = None, active: bool = True) -> AdviceItem:
    item = item or AdviceItem(team_id=team_id, title="", body="")
    item.title = clean_text(title, "title", 120)
    item.body = clean_text(body, "body", 2000)
    item.tags = _tags(tags)
    item.active = active
    db.add(item)
    db.flush()
    audit.record(db, actor=actor, action="advice.save", detail=f"advice {item.id}")
    return item


def advice_items(db: Session, team_id: int) -> list[AdviceItem]:
    return list(db.exec(select(AdviceItem).where(AdviceItem.team_id == team_id)
                        .order_by(col(AdviceItem.title))).all())


def get_advice(db: Session, team_id: int, advice_id: int) -> AdviceItem:
    item = db.get(AdviceItem, advice_id)
    if item is None or item.team_id != team_id:
        raise NotFound(f"no advice item {advice_id}")
    return item


def missing(item: AdviceItem) -> list[str]:
    """The languages (beside English) `item` has no translation in."""
    return [code for code in texts.languages()
            if code != texts.DEFAULT_LANGUAGE and code not in item.translations]


def save_translation(db: Session, item: AdviceItem, *, language: str, title: str, body: str,
                     actor: str) -> AdviceItem:
    """Add or change `item`'s text in `language`; both left empty, the translation is
    removed (the English is said)."""
    if language not in texts.languages() or language == texts.DEFAULT_LANGUAGE:
        others = ", ".join(c for c in texts.languages() if c != texts.DEFAULT_LANGUAGE)
        raise InvalidInput(f"language: one of {others}")
    translations = dict(item.translations)
    if title.strip() or body.strip():
        translations[language] = {"title": clean_text(title, "title", 120),
                                  "body": clean_text(body, "body", 2000)}
    else:
        translations.pop(language, None)
    item.translations = translations   # a new dict: SQLAlchemy sees the change
    db.add(item)
    db.flush()
    audit.record(db, actor=actor, action="advice.translate",
                 detail=f"advice {item.id}: {language}")
    return item


def text_in(item: AdviceItem, language: str | None) -> tuple[str, str]:
    """The item's title and body in `language` when translated, else in English."""
    own = item.translations.get(texts.resolve(language)) or {}
    if own.get("title") and own.get("body"):
        return own["title"], own["body"]
    return item.title, item.body


# For a patient ---------------------------------------------------------------------------


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
    """Record that the item is given today; returns the text to send, in the patient's
    language when the item has it."""
    db.add(AdviceDelivery(patient_id=patient.id, advice_id=item.id, local_day=local_day,
                          delivered_at=utcnow()))
    title, body = text_in(item, patient.language)
    return f"💡 {title}\n{body}"


def give(db: Session, patient: Patient, now: datetime | None = None) -> str | None:
    """A tip the patient asked for, recorded as given on their local day; None when there
    is none for them."""
    item = choose(db, patient)
    if item is None:
        return None
    local_day = (now or utcnow()).astimezone(zones.zone(patient.timezone)).date()
    return deliver(db, patient, item, local_day)
