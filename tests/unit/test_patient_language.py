"""A patient's language in what CareLoop writes: reminders and their buttons, times in the
local form, the language a request in words asks for, the choice of languages and the
offer after linking. Medication names stay as prescribed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from assistant import texts
from assistant.channels import languages
from assistant.conversation import chat
from assistant.conversation.rasa_client import Reply
from assistant.domain import findings
from assistant.domain.language_requests import requested
from assistant.services import reminders, wording
from assistant.storage.models import Medication
from assistant.texts import formats

MADRID = ZoneInfo("Europe/Madrid")
DUE = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)  # 20:00 in Madrid, a Tuesday


def _metformin() -> Medication:
    return Medication(patient_id=1, name="Metformin", strength="500 mg", dose="1 tablet")


def test_a_spanish_reminder_is_spanish_at_the_local_time_with_the_name_as_prescribed() -> None:
    said = reminders.reminder(_metformin(), DUE, MADRID, language="es")
    assert said == texts.t("reminder.due", "es", dose="Metformin 500 mg, 1 tablet",
                           time="20:00")
    assert "20:00" in said and "Metformin 500 mg" in said and "Time for" not in said
    assert reminders.reminder(_metformin(), DUE, MADRID, nudge=True, language="es") == \
        texts.t("reminder.nudge", "es", dose="Metformin 500 mg, 1 tablet", time="20:00")


def test_a_spanish_reminders_buttons_are_spanish_and_carry_the_same_data() -> None:
    spanish, english = reminders.dose_buttons(7, 15, "es"), reminders.dose_buttons(7, 15)
    assert [b["text"] for b in spanish[0]] == ["✅ Tomada", "⏰ Posponer 15 min", "Omitir"]
    assert [b["data"] for b in spanish[0]] == [b["data"] for b in english[0]] == [
        "dose:7:taken", "dose:7:snooze", "dose:7:skip"]


def test_english_reminders_read_as_before() -> None:
    assert reminders.reminder(_metformin(), DUE, MADRID) == (
        "💊 Time for your Metformin 500 mg, 1 tablet (20:00).")
    assert [b["text"] for b in reminders.dose_buttons(7, 15)[0]] == [
        "✅ Taken", "⏰ Snooze 15 min", "Skip"]


def test_a_measure_and_a_span_are_in_the_patients_language() -> None:
    assert wording.measure("blood_pressure", "es") == "presión arterial"
    assert wording.measure("blood_pressure") == "blood pressure"
    assert wording.span(96, "es") == "4 días" and wording.span(96) == "4 days"
    assert wording.span(20, "es") == "20 h"
    weight = findings.Reading("weight", 83.4, DUE)
    assert wording.value(weight, "es") == "83,4 kg" and wording.value(weight) == "83.4 kg"
    pressure = findings.Reading("blood_pressure", 168, DUE, 96)
    assert wording.value(pressure, "es") == wording.value(pressure) == "168/96 mmHg"
    assert wording.value(findings.Reading("glucose", 6.04, DUE)) == "6 mmol/L"


@pytest.mark.parametrize(("words", "language"), [
    ("en español por favor", "es"), ("En Español, por favor!", "es"), ("español", "es"),
    ("¿habla español?", "es"), ("Habla espanol", "es"), ("spanish please", "es"),
    ("in english please", "en"), ("English", "en"), ("¿hablas inglés?", "en"),
    ("can you speak english", "en"),
])
def test_a_request_for_a_language_in_words_is_recognised(words: str, language: str) -> None:
    assert requested(words) == language


@pytest.mark.parametrize("words", [
    "my english is not good", "I don't speak Spanish well", "hola", "what do I take today?",
    "dolor en el pecho", "english or spanish", "", "Spanish omelette for dinner, is that ok?",
])
def test_other_messages_are_not_requests_for_a_language(words: str) -> None:
    assert requested(words) is None


def test_the_choice_names_each_language_in_itself() -> None:
    question, buttons = languages.menu("es")
    assert question == texts.t("language.choose", "es")
    assert [(row[0]["text"], row[0]["data"]) for row in buttons] == [
        ("English", "lang:en"), ("español", "lang:es")]


def test_the_phones_language_is_offered_only_when_it_is_spoken_and_another() -> None:
    offered = languages.offer("en", "es")
    assert offered is not None
    text, buttons = offered
    assert text == texts.t("language.offer", "es")
    assert [row[0]["data"] for row in buttons] == ["lang:es", "lang:en"]
    assert languages.offer("en", "en-GB") is None      # the same language
    assert languages.offer("es", "es-MX") is None
    assert languages.offer("es", "de") is None         # German: not offered as English
    assert languages.offer("en", None) is None


def test_a_phones_language_code_names_a_catalog_or_none() -> None:
    assert texts.supported("es-MX") == texts.supported("es") == "es"
    assert texts.supported("EN") == "en"
    assert texts.supported("de") is texts.supported("") is texts.supported(None) is None
    assert formats.clock(DUE.astimezone(MADRID), "es") == "20:00"


def test_the_assistants_answers_are_rendered_in_the_patients_language() -> None:
    said = Reply("msg:conversation.default", [{"title": "msg:conversation.ok", "payload": "/x"}])
    spanish = chat._rendered(said, "es")
    assert spanish.text == texts.t("conversation.default", "es") != texts.t("conversation.default")
    assert spanish.buttons == [{"title": "De acuerdo.", "payload": "/x"}]
    assert chat._rendered(Reply("Metformin 500 mg", []), "es").text == "Metformin 500 mg"
    assert chat.unavailable(None, "es").startswith("Lo siento, ahora mismo no puedo responder.")
