"""Console: the team's advice library, and each item's translations (a patient is sent
the item in their language when it has one, else in English)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import CSRF, DB, MAX_ID, ConsoleCaller, Id
from assistant.interfaces.web.pages import forms
from assistant.interfaces.web.pages.common import (
    OptText,
    Text,
    back,
    comma_list,
    render,
    router,
)
from assistant.services import advice
from assistant.texts.formats import language_name


def _page(request: Request, db: DB, caller: ConsoleCaller,
          fs: forms.FormState = forms.NO_ERRORS) -> Response:
    return render(request, "advice.html", caller, code=422 if fs.errors else 200, fs=fs,
                  items=[(item, advice.missing(item))
                         for item in advice.advice_items(db, caller.team_id)])


@router.get("/advice")
def advice_page(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    return _page(request, db, caller)


@router.post("/advice", dependencies=[CSRF])
def advice_save(request: Request, db: DB, caller: ConsoleCaller, title: Text, body: Text,
                tags: OptText = "", advice_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
                active: Annotated[bool, Form()] = False) -> Response:
    item = advice.get_advice(db, caller.team_id, advice_id) if advice_id else None
    advice.save_advice(db, caller.team_id, title=title, body=body, tags=comma_list(tags),
                     actor=caller.actor, item=item, active=active or item is None)
    return back(request, "Advice saved.")


TRANSLATION_FIELDS = {"title": "Title", "body": "Advice text"}


@router.post("/advice/{advice_id}/translation", dependencies=[CSRF])
async def advice_translate(request: Request, db: DB, caller: ConsoleCaller,
                           advice_id: Id) -> Response:
    item = advice.get_advice(db, caller.team_id, advice_id)
    values = await forms.typed(request)
    language = forms.text(values, "language")
    try:
        advice.save_translation(db, item, language=language,
                                title=forms.text(values, "title"),
                                body=forms.text(values, "body"), actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return _page(request, db, caller, forms.refused(
            f"advice-{advice_id}-{language}", values, exc, TRANSLATION_FIELDS,
            {"language": "title"}))
    said = language_name(language)
    return back(request, f"Advice saved in {said}." if language in item.translations
                else "Translation removed: the advice is sent in English.",
                to="/advice", anchor=f"advice-{advice_id}")
