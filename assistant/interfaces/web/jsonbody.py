"""JSON request bodies read strictly: what RFC 8259 allows, and nothing Python adds.

Python's `json` reads `NaN`, `Infinity` and `-Infinity`, numbers too large for a float (as
infinity), and escapes of lone surrogates (`"\\ud800"`: text that can be neither stored
nor sent back). Each would travel on into a route and end as a 500. `StrictJSONRoute`
reads the body first and refuses them with a 422 whose `loc` is where the bad value sits
(`["body", "readings", 1, "value"]`), as FastAPI's own validation errors do.

Bytes that are not UTF-8 are read as lone surrogates too (`surrogateescape`), so they are
refused at their place in the document rather than as a whole.

Most bodies hold none of these: they are read once by the C parser, the few numbers that
could overflow checked as they are read (`_Suspect` otherwise), and the walk that places
each bad value runs only for a body that may hold one (not UTF-8, an escaped surrogate, a
non-finite or overlong number, a syntax error).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["StrictJSONRoute", "loads"]

Loc = tuple[str | int, ...]
_MOST_ERRORS = 20  # enough to fix a document by; a hostile one gets no longer answer
_SHOWN = 24  # characters of a bad number quoted back
# The escape of a UTF-16 surrogate (a pair is fine, a lone one is not: the walk tells them
# apart). `\\ud800` (an escaped backslash) matches too, which only costs the walk.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Suspect(Exception):
    """A value JSON may not allow was read: the body is read again, slowly, to place it."""


class _Refused:
    """Stands where a value JSON does not allow was read, until its place is known."""

    def __init__(self, text: str) -> None:
        self.text = text


def _constant(text: str) -> _Refused:
    return _Refused(text)  # NaN, Infinity, -Infinity


def _float(text: str) -> float | _Refused:
    number = float(text)
    return number if math.isfinite(number) else _Refused(text)


def _int(text: str) -> int | _Refused:
    try:
        return int(text)
    except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits)
        return _Refused(text)


def _suspect(text: str) -> Any:
    raise _Suspect(text)  # NaN, Infinity, -Infinity


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _Suspect(text)
    return number


def loads(body: bytes) -> Any:
    """The JSON document in `body`, or RequestValidationError naming each bad value."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and _SURROGATE_ESCAPE.search(text) is None:
        try:  # what a body holds when nothing in it is refused: read as `_placed` reads it
            return json.loads(text, parse_constant=_suspect, parse_float=_finite)
        except (_Suspect, ValueError, RecursionError):  # ValueError: JSONDecodeError, and
            pass  # an integer with more digits than int() reads: `_placed` names each
    return _placed(body.decode("utf-8", "surrogateescape"))


def _placed(text: str) -> Any:
    """The document in `text`, each bad value in it refused at its place."""
    try:
        document = json.loads(text, parse_constant=_constant, parse_float=_float,
                              parse_int=_int)
    except json.JSONDecodeError as exc:
        raise _error([{"type": "json_invalid", "loc": ("body", exc.pos),
                       "msg": f"JSON decode error: {exc.msg}"}]) from None
    except RecursionError:
        raise _error([{"type": "json_invalid", "loc": ("body",),
                       "msg": "JSON decode error: nested too deeply"}]) from None
    errors = _bad_values(document)
    if errors:
        raise _error(errors)
    return document


def _error(errors: list[dict[str, Any]]) -> RequestValidationError:
    # No `input`: the bad value is what cannot be sent back.
    return RequestValidationError(errors[:_MOST_ERRORS])


def _bad_values(document: Any) -> list[dict[str, Any]]:
    """Every value JSON does not allow, with its place; walked without recursion (the
    parser already accepted the depth)."""
    errors: list[dict[str, Any]] = []
    stack: list[tuple[Any, Loc]] = [(document, ("body",))]
    while stack and len(errors) < _MOST_ERRORS:
        value, loc = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if not _is_unicode(key):
                    errors.append(_unicode_error((*loc, _shown(key)), "a name"))
                stack.append((item, (*loc, _shown(key))))
        elif isinstance(value, list):
            stack.extend((item, (*loc, index)) for index, item in enumerate(value))
        elif isinstance(value, str) and not _is_unicode(value):
            errors.append(_unicode_error(loc, "text"))
        elif isinstance(value, _Refused):
            shown = value.text if len(value.text) <= _SHOWN else f"{value.text[:_SHOWN]}..."
            reason = ("is not a number JSON allows" if value.text.lstrip("-")[:1].isalpha()
                      else "is too large a number")
            errors.append({"type": "finite_number", "loc": loc,
                           "msg": f"{shown} {reason}: send a finite number"})
    errors.sort(key=lambda error: [str(step) for step in error["loc"]])
    return errors


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, escaped or from bytes not UTF-8
        return False
    return True


def _shown(text: str) -> str:
    """A name as it can be sent back: a lone surrogate as its escape."""
    return text if _is_unicode(text) else text.encode("utf-8", "backslashreplace").decode()


def _unicode_error(loc: Loc, what: str) -> dict[str, Any]:
    return {"type": "string_unicode", "loc": loc,
            "msg": f"{what} with a lone surrogate (an unpaired \\ud800-\\udfff escape) or "
                   "bytes that are not UTF-8 is not valid Unicode: send UTF-8 text"}


def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/")
                                          and kind.endswith("+json"))


class _StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            self._strict_json = loads(await self.body())
        return self._strict_json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is read strictly before FastAPI reads it (FastAPI would
    turn any error other than a syntax error into a 400 without a place)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            request = _StrictRequest(request.scope, request.receive)
            if _is_json(request) and await request.body():
                await request.json()
            return await handler(request)

        return strict
