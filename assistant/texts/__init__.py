"""Every sentence and button label a patient or the care team reads, from gettext catalogs.

Code holds message ids and named placeholders, never sentences:

    texts.t("reminder.due", dose="Metformin 500 mg", time="08:00", language="es")

The English catalog, `locale/en/LC_MESSAGES/careloop.po`, is the one file in which the
wording is reviewed: ordered by where a text is seen, with a note where the wording is
clinical. Each other language is a `.po` beside it (`locale/es/...`): the languages are
the folders found there, so adding one is copying a folder and translating it. A text a
language lacks (or whose translation names other placeholders) is the English one, for
that message only; a language without a catalog ("de", or none given) is English. The
`.po` is read with Babel when first needed and kept (no compiled `.mo` that could go
stale). `formats` writes times, dates and numbers the way each language does.

Rasa's domain names its responses' texts as `msg:<id>`; `render` turns them into the
catalog's words. A missing id, a placeholder not given or a value given for none is a
`TextError`: a bug, which the tests find before a patient could.
"""

from __future__ import annotations

import functools
import logging
import string
from pathlib import Path

from babel.messages.pofile import read_po

DOMAIN = "careloop"
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
PREFIX = "msg:"  # a text that is a catalog id (Rasa's domain responses)

log = logging.getLogger(__name__)


class TextError(LookupError):
    """A text asked for that the catalog does not have, or with the wrong placeholders."""


def catalog_path(language: str = DEFAULT_LANGUAGE) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalog(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The catalog of `language` as written: message id → text (ids with no text, or only a
    fuzzy one that a translator has yet to check, are left out, as gettext does)."""
    path = catalog_path(language)
    if not path.is_file():
        raise TextError(f"no {language!r} catalog: {path} is missing")
    with path.open("rb") as po:
        read = read_po(po, locale=language.replace("-", "_"), domain=DOMAIN)
    return {message.id: message.string for message in read
            if isinstance(message.id, str) and message.id and isinstance(message.string, str)
            and message.string and not message.fuzzy}


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages there is a catalog for (the folders under `locale/`), English first."""
    found = sorted(po.parent.parent.name for po in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (DEFAULT_LANGUAGE, *(code for code in found if code != DEFAULT_LANGUAGE))


def resolve(code: str | None) -> str:
    """The catalog to speak for a patient's `code`: 'es', 'ES', 'es-MX' or 'es_MX' → 'es';
    a language with no catalog, or none, → English."""
    wanted = (code or "").strip().replace("_", "-").lower()
    for candidate in (wanted, wanted.split("-")[0]):
        if candidate in languages():
            return candidate
    return DEFAULT_LANGUAGE


def supported(code: str | None) -> str | None:
    """The catalog `code` names ('es-MX' → 'es'), or None when there is none for it (a
    phone set to German is not asking for English)."""
    wanted = (code or "").strip().replace("_", "-").lower()
    found = resolve(wanted)
    return found if wanted and wanted.split("-")[0] == found else None


def placeholders(text: str) -> set[str]:
    """The names of `text`'s `{placeholders}`."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _same_fields(translated: str, english: str) -> bool:
    try:
        return placeholders(translated) == placeholders(english)
    except ValueError:  # a stray brace: the English is said, not an error in a patient's chat
        return False


def missing(code: str) -> list[str]:
    """The English ids `code`'s catalog has no usable translation for (spoken in English)."""
    own = catalog(code)
    return sorted(msgid for msgid, text in catalog().items()
                  if msgid not in own or not _same_fields(own[msgid], text))


@functools.cache
def _spoken(code: str) -> dict[str, str]:
    """What is said in `code`: its own text where it has a usable one, else the English."""
    english = catalog()
    if code == DEFAULT_LANGUAGE:
        return english
    gaps = set(missing(code))
    if gaps:  # ids only: they are not patient data
        log.warning("the %r catalog lacks %d texts (English used): %s", code, len(gaps),
                    ", ".join(sorted(gaps)))
    own = catalog(code)
    return {msgid: text if msgid in gaps else own[msgid] for msgid, text in english.items()}


def t(msgid: str, /, language: str | None = None, **values: object) -> str:
    """The text of `msgid` in `language` (a patient's language code; English when none),
    its placeholders filled with `values`."""
    text = _spoken(resolve(language)).get(msgid)
    if not text:
        raise TextError(f"no text {msgid!r} in the catalog")
    wanted = placeholders(text)
    if wanted != set(values):
        raise TextError(f"{msgid!r} has the placeholders {sorted(wanted)}, "
                        f"was given {sorted(values)}")
    return text.format(**values)


def render(text: str, language: str | None = None) -> str:
    """`text` itself, or the catalog's text when it is an id (`msg:conversation.greet`)."""
    return t(text.removeprefix(PREFIX), language) if text.startswith(PREFIX) else text


def reset() -> None:
    """Forget the catalogs read (after `LOCALE_DIR` or a `.po` changed: tests)."""
    for cached in (catalog, languages, _spoken):
        cached.cache_clear()
