"""A patient asking, in words, to be written to in another language: "en español por
favor", "in English please", "español", "¿habla español?". Recognised before the
assistant hears the message (no NLU needed), from the short lists below.

A message is a request when it names exactly one language and every other word is one
of the few words such a request is made of (`FILLER`): "my English is bad" or "I don't
speak Spanish well" is not one. Another language is a line in `NAMES` (its names, written
as `safety.plain` writes them: lower case, no accents) and its words in `FILLER`.
"""

from __future__ import annotations

import re

from assistant.domain.safety import plain

# The words that name each language, in the languages patients write.
NAMES = {
    "en": ("english", "ingles", "englsh", "eng"),
    "es": ("espanol", "castellano", "spanish", "espanish", "espaol"),
}
# The words a request is made of, besides the language's name.
FILLER = frozenset({
    "please", "pls", "plz", "can", "could", "would", "you", "speak", "talk", "write", "answer",
    "reply", "in", "to", "me", "do", "only", "change", "switch", "language", "the", "i",
    "want", "prefer", "like", "id", "d", "rather", "ok", "yes", "let", "lets", "us", "use", "habla",
    "hablas", "hable", "hablame", "hableme", "hablar", "escribe", "escribame", "escribeme",
    "escribir", "en", "por", "favor", "porfa", "puede", "puedes", "podria", "usted", "quiero",
    "prefiero", "idioma", "cambiar", "cambia", "a", "al", "el", "mi", "si", "vale", "solo",
})
MAX_WORDS = 10
_NAMED = {name: code for code, names in NAMES.items() for name in names}


def requested(text: str) -> str | None:
    """The language code a message asks for ('es'), or None when it is not such a request."""
    words = re.findall(r"[a-z]+", plain(text))
    if not words or len(words) > MAX_WORDS:
        return None
    named = {_NAMED[word] for word in words if word in _NAMED}
    if len(named) != 1 or any(w not in FILLER and w not in _NAMED for w in words):
        return None
    return named.pop()
