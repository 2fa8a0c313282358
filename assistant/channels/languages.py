"""The language a chat is written to in: the patient's profile language, which the care
team sets and the patient can change in the chat.

`/language`, or a request in words ("en español por favor", see
domain/language_requests.py), shows one button per language CareLoop speaks, each named
in its own language; the choice is saved in the patient's profile (audited as any
profile change, actor "patient") and confirmed in the new language. Before a chat is
linked the patient's language is not known: the phone's (Telegram's `language_code`) is
used where CareLoop speaks it. When a chat is linked from a phone set to a language
CareLoop speaks other than the profile's, the profile stays as the team set it and the
patient is offered the phone's with one tap. Nothing but the language code is stored.

Button data: `lang:<code>`.
"""

from __future__ import annotations

from sqlmodel import Session

from assistant import texts
from assistant.services import enrolment, patients
from assistant.services.outbox import Buttons
from assistant.storage.models import Patient
from assistant.texts import formats

DATA = "lang:"


def choices(codes: list[str] | tuple[str, ...]) -> Buttons:
    """A button per language, each named in its own language ('English', 'español')."""
    return [[{"text": formats.language_name(code), "data": DATA + code}] for code in codes]


def menu(language: str | None) -> tuple[str, Buttons]:
    """/language: the question, in the chat's language, and every language's button."""
    return texts.t("language.choose", language), choices(texts.languages())


def offer(profile: str, phone: str | None) -> tuple[str, Buttons] | None:
    """Right after linking: the phone's language offered, in it, when CareLoop speaks it
    and the profile says another (the patient chooses; nothing changes by itself)."""
    wanted, current = texts.supported(phone), texts.resolve(profile)
    if wanted is None or wanted == current:
        return None
    return texts.t("language.offer", wanted), choices([wanted, current])


def save(db: Session, *, channel: str, chat_id: str, code: str) -> Patient | None:
    """Set the chat's patient's language to `code` when CareLoop speaks it; the patient
    (None when the chat has none)."""
    patient = enrolment.linked_patient(db, channel, chat_id)
    wanted = texts.supported(code)
    if patient is not None and wanted is not None and patient.language != wanted:
        patients.update_profile(db, patient, {"language": wanted}, actor="patient")
    return patient
