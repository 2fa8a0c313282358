"""Every sentence and button label a patient or the care team reads, from gettext catalogs.

Code holds message ids and named placeholders, never sentences:

    texts.t("reminder.due", dose="Metformin 500 mg", time="08:00")

The English catalog, `locale/en/LC_MESSAGES/careloop.po`, is the one file in which the
wording is reviewed: ordered by where a text is seen, with a note where the wording is
clinical. Another language is another `.po` beside it, chosen with `locale=`. The `.po`
is read with Babel when first needed and kept (no compiled `.mo` that could go stale).

Rasa's domain names its responses' texts as `msg:<id>`; `render` turns them into the
catalog's words. A missing id, a placeholder not given or a value given for none is a
`TextError`: a bug, which the tests find before a patient could.
"""

from __future__ import annotations

import functools
import string
from pathlib import Path

from babel.messages.pofile import read_po

DOMAIN = "careloop"
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
PREFIX = "msg:"  # a text that is a catalog id (Rasa's domain responses)


class TextError(LookupError):
    """A text asked for that the catalog does not have, or with the wrong placeholders."""


def catalog_path(locale: str = DEFAULT_LOCALE) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalog(locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The catalog of `locale`: message id → text."""
    path = catalog_path(locale)
    if not path.is_file():
        raise TextError(f"no {locale!r} catalog: {path} is missing")
    with path.open("rb") as po:
        read = read_po(po, locale=locale, domain=DOMAIN)
    return {message.id: message.string for message in read
            if isinstance(message.id, str) and message.id and isinstance(message.string, str)}


def placeholders(text: str) -> set[str]:
    """The names of `text`'s `{placeholders}`."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def t(msgid: str, /, locale: str = DEFAULT_LOCALE, **values: object) -> str:
    """The text of `msgid` in `locale`, its placeholders filled with `values`."""
    text = catalog(locale).get(msgid)
    if not text:
        raise TextError(f"no text {msgid!r} in the {locale!r} catalog")
    wanted = placeholders(text)
    if wanted != set(values):
        raise TextError(f"{msgid!r} has the placeholders {sorted(wanted)}, "
                        f"was given {sorted(values)}")
    return text.format(**values)


def render(text: str, locale: str = DEFAULT_LOCALE) -> str:
    """`text` itself, or the catalog's text when it is an id (`msg:conversation.greet`)."""
    return t(text.removeprefix(PREFIX), locale) if text.startswith(PREFIX) else text
