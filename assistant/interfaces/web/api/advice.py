"""API: the team's advice library and its translations."""

from __future__ import annotations

from typing import Any

from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import router
from assistant.interfaces.web.deps import DB, ApiCaller, Id
from assistant.services import advice


@router.get("/advice", response_model=list[s.AdviceOut], tags=["advice"])
def list_advice(db: DB, caller: ApiCaller) -> list[Any]:
    return advice.advice_items(db, caller.team_id)


@router.post("/advice", response_model=s.AdviceOut, status_code=201, tags=["advice"])
def add_advice(db: DB, caller: ApiCaller, body: s.AdviceIn) -> Any:
    return advice.save_advice(db, caller.team_id, actor=caller.actor, **body.model_dump())


@router.put("/advice/{advice_id}", response_model=s.AdviceOut, tags=["advice"])
def replace_advice(db: DB, caller: ApiCaller, advice_id: Id, body: s.AdviceIn) -> Any:
    return advice.save_advice(db, caller.team_id, actor=caller.actor,
                            item=advice.get_advice(db, caller.team_id, advice_id),
                            **body.model_dump())


@router.put("/advice/{advice_id}/translations/{language}", response_model=s.AdviceOut,
            tags=["advice"])
def translate_advice(db: DB, caller: ApiCaller, advice_id: Id, language: str,
                     body: s.AdviceTranslationIn) -> Any:
    """The item's text in `language` (one the assistant speaks, not English); a patient
    speaking a language the item lacks is sent the English."""
    return advice.save_translation(db, advice.get_advice(db, caller.team_id, advice_id),
                                   language=language, actor=caller.actor, **body.model_dump())
