"""Console: the team's advice library."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from assistant.interfaces.web.deps import CSRF, DB, MAX_ID, ConsoleCaller
from assistant.interfaces.web.pages.common import OptText, Text, back, comma_list, render, router
from assistant.services import advice


@router.get("/advice")
def advice_page(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    return render(request, "advice.html", caller, items=advice.advice_items(db, caller.team_id))


@router.post("/advice", dependencies=[CSRF])
def advice_save(request: Request, db: DB, caller: ConsoleCaller, title: Text, body: Text,
                tags: OptText = "", advice_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
                active: Annotated[bool, Form()] = False) -> Response:
    item = advice.get_advice(db, caller.team_id, advice_id) if advice_id else None
    advice.save_advice(db, caller.team_id, title=title, body=body, tags=comma_list(tags),
                     actor=caller.actor, item=item, active=active or item is None)
    return back(request, "Advice saved.")
