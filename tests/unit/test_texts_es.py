"""The patient's language: every catalog beside the English one translates every text
with the same placeholders (the Spanish one first), a patient's language picks the
catalog, and whatever a catalog lacks is said in English, that text only."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest
from babel import Locale

from assistant import texts
from assistant.config import get_settings
from assistant.domain import parsing
from assistant.services import alerts
from assistant.texts import formats

OTHERS = [code for code in texts.languages() if code != texts.DEFAULT_LANGUAGE]


def test_the_languages_are_the_catalog_folders_english_first() -> None:
    assert texts.languages()[0] == "en"
    assert "es" in OTHERS
    assert set(texts.languages()) == {path.name for path in texts.LOCALE_DIR.iterdir()
                                      if texts.catalog_path(path.name).is_file()}


@pytest.mark.parametrize("code", OTHERS)
def test_every_english_text_has_a_translation(code: str) -> None:
    english, own = texts.catalog(), texts.catalog(code)
    untranslated = sorted(set(english) - set(own))
    assert not untranslated, (f"the {code!r} catalog ({texts.catalog_path(code)}) has no text "
                              f"for {untranslated}: they are said in English")
    stale = sorted(set(own) - set(english))
    assert not stale, f"the {code!r} catalog has ids the English one no longer has: {stale}"


@pytest.mark.parametrize("code", OTHERS)
def test_every_translation_keeps_the_english_placeholders(code: str) -> None:
    english, own = texts.catalog(), texts.catalog(code)
    wrong = {msgid: (sorted(texts.placeholders(english[msgid])),
                     sorted(texts.placeholders(text)))
             for msgid, text in own.items()
             if msgid in english and texts.placeholders(text) != texts.placeholders(english[msgid])}
    assert not wrong, f"{code!r}: placeholders (English, translated) differ: {wrong}"
    assert texts.missing(code) == []


@pytest.mark.parametrize("code", OTHERS)
def test_every_translation_renders(code: str) -> None:
    for msgid, text in texts.catalog().items():  # filled as the code fills the English
        names = texts.placeholders(text)
        said = texts.t(msgid, language=code, **dict.fromkeys(names, "X"))
        assert said.count("{") == said.count("}") == 0, (code, msgid)


def test_a_patient_speaking_spanish_reads_spanish() -> None:
    assert texts.t("reminder.button.snooze", language="es", minutes=15) == "⏰ Posponer 15 min"
    assert texts.t("conversation.unavailable", language="es", number="112").startswith(
        "Lo siento, ahora mismo no puedo responder. Si es una emergencia, llame ahora al 112.")
    assert "112" in texts.t("safety.emergency", language="es", number="112", crisis="024")
    assert texts.render("msg:conversation.ok", "es") == "De acuerdo."
    # However the patient's profile writes it.
    for code in ("ES", "es-MX", "es_419", " es "):
        assert texts.t("join.agree", language=code) == "✅ Acepto"


def test_english_stays_the_default() -> None:
    assert texts.t("join.agree") == texts.t("join.agree", language="en") == "✅ I agree"
    assert texts.t("join.agree", language=None) == "✅ I agree"


@pytest.mark.parametrize("code", ["de", "xx", "", "zz-ZZ", "english"])
def test_a_language_without_a_catalog_is_english(code: str) -> None:
    assert texts.resolve(code) == "en"
    assert texts.t("reminder.button.snooze", language=code, minutes=5) == "⏰ Snooze 5 min"


def test_a_wrong_placeholder_is_an_error_in_every_language() -> None:
    with pytest.raises(texts.TextError, match=r"\['minutes'\]"):
        texts.t("reminder.button.snooze", language="es")
    with pytest.raises(texts.TextError, match="no text 'reminder.missing'"):
        texts.t("reminder.missing", language="es")


@pytest.fixture
def partial_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A locale folder with English and a 'pt' catalog that translates four texts: one
    well, one with a placeholder renamed, one with a stray brace, one only as a fuzzy
    draft."""
    shutil.copytree(texts.LOCALE_DIR / "en", tmp_path / "en")
    po = tmp_path / "pt" / "LC_MESSAGES" / "careloop.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Language: pt\\n"\n"Content-Type: text/plain; '
                  'charset=utf-8\\n"\n\n'
                  'msgid "join.agree"\nmsgstr "✅ Concordo"\n\n'
                  'msgid "reminder.button.snooze"\nmsgstr "⏰ Adiar {minutos} min"\n\n'
                  'msgid "dose.snoozed"\nmsgstr "⏰ OK, {medication} em {minutes minutos."\n\n'
                  '#, fuzzy\nmsgid "join.decline"\nmsgstr "Não, obrigado"\n', encoding="utf-8")
    monkeypatch.setattr(texts, "LOCALE_DIR", tmp_path)
    texts.reset()
    yield "pt"
    monkeypatch.undo()
    texts.reset()


def test_a_missing_translation_is_english_for_that_text_only(partial_catalog: str) -> None:
    assert texts.languages() == ("en", "pt")
    assert texts.t("join.agree", language="pt") == "✅ Concordo"
    # Untranslated, mistranslated (a placeholder the code does not fill, a stray brace) or
    # a fuzzy draft.
    assert texts.t("reminder.button.skip", language="pt") == "Skip"
    assert texts.t("reminder.button.snooze", language="pt", minutes=5) == "⏰ Snooze 5 min"
    assert texts.t("join.decline", language="pt") == "No, thanks"
    assert texts.t("dose.snoozed", language="pt", medication="M", minutes=5).startswith("⏰ OK, I")
    missing = texts.missing("pt")
    assert {"reminder.button.skip", "reminder.button.snooze", "join.decline",
            "dose.snoozed"} <= set(missing)
    assert "join.agree" not in missing
    assert len(missing) == len(texts.catalog()) - 1


def test_the_folder_of_a_new_language_is_all_it_takes(partial_catalog: str) -> None:
    assert texts.resolve("pt-BR") == "pt"
    assert formats.weekday(1, "pt") == "terça-feira"  # Babel's names; the patterns fall back


def test_times_days_and_numbers_in_the_patients_form() -> None:
    evening = datetime(2026, 11, 24, 20, 0)  # a Tuesday
    assert formats.clock(evening, "es") == formats.clock(time(20, 0), "es") == "20:00"
    assert formats.clock(time(8, 5)) == "08:05"
    assert formats.weekday(1, "es") == "martes"
    assert formats.weekday(1) == "Tuesday"
    assert formats.weekday(0, "es", short=True) == "lun"
    assert formats.weekday(0, short=True) == "Mon"
    assert formats.long_day(date(2026, 12, 4), "es") == "viernes 4 de dic"
    assert formats.day(evening.date(), "es") == "mar 24 de nov"
    assert "a las 20:00" in formats.moment(evening, "es")
    assert formats.moment(evening, "es") == "martes 24 de nov a las 20:00"
    assert formats.number(6.5, "es") == "6,5"
    assert formats.number(6.5) == "6.5"
    assert formats.number(72, "es", decimals=0) == "72"


def test_english_forms_are_the_ones_patients_read_today() -> None:
    """The forms English patients read before the callers moved to `formats`."""
    due = datetime(2026, 11, 24, 8, 0)
    assert formats.moment(due) == "Tue 24 Nov, 08:00"
    assert formats.day(date(2026, 11, 27)) == "Fri 27 Nov"
    assert formats.long_day(date(2026, 12, 4)) == "Friday 4 Dec"


@pytest.mark.parametrize("code", texts.languages())
def test_each_language_is_one_babel_knows_and_its_patterns_write_times(code: str) -> None:
    assert Locale.parse(code).language == code
    evening = datetime(2026, 11, 24, 20, 5)
    assert "05" in formats.clock(evening, code)
    for written in (formats.day(evening.date(), code), formats.long_day(evening.date(), code),
                    formats.moment(evening, code)):
        assert "24" in written and "'" not in written, (code, written)
    assert formats.clock(evening, code) in formats.moment(evening, code)


@pytest.mark.parametrize("code", texts.languages())
def test_the_readings_a_catalog_suggests_are_read(code: str) -> None:
    """'Try for example «azúcar 6,5»' must be a reading the assistant reads."""
    said = " ".join([texts.t("reading.unreadable", language=code), *(
        texts.t(msgid, language=code, measure="X", reading="X", how="X")
        for msgid in ("confirm.ask_high", "confirm.ask_low"))])
    quoted = ("".join(groups) for groups in re.findall(r"«([^»]+)»|(?<!\w)'([^']+)'(?!\w)", said))
    examples = [text for text in quoted if re.search(r"\d", text)]  # readings, not words
    assert len(examples) >= 6
    for example in examples:
        assert parsing.parse_measurement(example) is not None, (code, example)


def test_without_a_configured_crisis_line_the_patient_hears_of_their_local_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARELOOP_CRISIS_LINE", raising=False)
    get_settings.cache_clear()
    assert "call your local crisis line." in alerts.emergency_guidance(None, "en")
    assert "la línea de crisis (la de su zona)" in alerts.emergency_guidance(None, "es")
    monkeypatch.setenv("CARELOOP_CRISIS_LINE", "024")
    get_settings.cache_clear()
    assert "la línea de crisis (024)" in alerts.emergency_guidance(None, "es")
    get_settings.cache_clear()
