"""API: the team's advice library."""

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
