"""Forms that keep what was typed (the NHS design system's error pattern): a refused form
is shown again, as typed, with an error summary at the top that links to each field and
the message at the field itself.

A handler reads the form with `typed`, and on an `InvalidInput("field: message")` answers
with `refused(...)`: a `FormState` the page's template renders through the macros of
`_form_errors.html` (`summary`, `field`, `error`). A page without an error gets
`NO_ERRORS` (a template global), so every template can use the macros.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from fastapi import Request

from assistant.errors import InvalidInput
from assistant.interfaces.web.pages.common import templates

Values = dict[str, str | list[str]]
MULTIPLE = ("days",)  # fields a form sends more than once (checkboxes)
SECRET = ("csrf", "password", "current", "repeat")  # never typed back into a page


@dataclass(frozen=True)
class FormState:
    """One form's typed values and its errors by field; `key` names the form on its page
    (a page may have several: only the refused one shows what was typed)."""

    key: str = ""
    values: Values = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def value(self, key: str, name: str, default: object = "") -> object:
        """What was typed in the field when this form was refused, else `default`."""
        return self.values.get(name, "") if key == self.key else default

    def error(self, key: str, name: str) -> str:
        return self.errors.get(name, "") if key == self.key else ""

    def checked(self, key: str, name: str, value: str, default: bool) -> bool:
        """Whether a checkbox is ticked: as sent when refused, else `default`."""
        if key != self.key:
            return default
        sent = self.values.get(name, [])
        return value in sent if isinstance(sent, list) else sent == value

    def is_open(self, key: str) -> bool:
        return bool(self.errors) and key == self.key


NO_ERRORS = FormState()
templates.env.globals["fs"] = NO_ERRORS


async def typed(request: Request) -> Values:
    """The form as sent: text fields as strings, checkbox groups as lists; passwords are
    not kept (`password` reads them from the request's form itself)."""
    form = await request.form()
    values: Values = {}
    for name in form:
        if name in SECRET:
            continue
        if name in MULTIPLE:
            values[name] = [v for v in form.getlist(name) if isinstance(v, str)]
        else:
            value = form.get(name)
            values[name] = value if isinstance(value, str) else ""
    return values


async def password(request: Request, name: str = "password") -> str:
    value = (await request.form()).get(name, "")
    return value if isinstance(value, str) else ""


def text(values: Mapping[str, str | list[str]], name: str, default: str = "") -> str:
    value = values.get(name, default)
    return value if isinstance(value, str) else default


def day(text: str, name: str, example: str = "") -> date | None:
    """A typed date (YYYY-MM-DD), or None when left empty; else `InvalidInput` naming the
    field `name`."""
    try:
        return date.fromisoformat(text) if text.strip() else None
    except ValueError:
        hint = f", e.g. {example}" if example else ""
        raise InvalidInput(f"{name}: write the date as YYYY-MM-DD{hint}") from None


def refused(key: str, values: Values, exc: InvalidInput, fields: Mapping[str, str],
            aliases: Mapping[str, str] | None = None) -> FormState:
    """The refused form `key`: the error's "field: message" placed at its field (a name of
    `fields`, or one `aliases` maps to one); a message about no one field goes to the
    form's first field. `fields` maps each field to its label, in the form's order."""
    message = str(exc)
    names = {**{name: name for name in fields}, **(aliases or {})}
    name, _, rest = message.partition(": ")
    if name not in names or not rest:  # "medication name must not be empty"
        said = [n for n in names if message.startswith(n + " ")]
        name, rest = (max(said, key=len), message) if said else ("", message)
    place = names.get(name, next(iter(fields)))
    return FormState(key, values, {place: f"{fields[place]}: {rest}"})
