"""Chat turns through the real Rasa 3.6 server and the rasa_sdk action server: the
pairing works, answers come from the patient's own plan, and failures are gentle."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from assistant.config import get_settings
from assistant.conversation import chat as conversation
from assistant.conversation.rasa_client import RasaClient, Reply
from assistant.domain.days import DAY_CODES
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import medications, patients, teams
from assistant.storage.db import session
from assistant.storage.models import Alert, AlertKind, CareTeam, Patient, Reading
from assistant.texts import t
from tests.conftest import free_port, noon_zone


def _patient(name: str) -> Patient:
    with session() as db:
        team = teams.add_team(db, name=f"Team of {name}", actor="test")
        patient = patients.add_patient(db, team=team, name=name, timezone="Europe/Berlin",
                                       actor="test")
        medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                instructions="with food", purpose="Lowers blood sugar.",
                                schedule=ScheduleSpec(times=("08:00", "20:00")),
                                actor="test")
        return patient


async def _say(patient: Patient, text: str) -> str:
    settings = get_settings()
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds * 3,
                      hold_seconds=settings.rasa_hold_seconds)
    try:
        replies = await conversation.turn(rasa, patient, text)
    finally:
        await rasa.aclose()
    return "\n".join(reply.text for reply in replies)


@pytest.mark.rasa
async def test_a_patient_hears_their_own_plan_from_the_real_rasa_server(
        stack_db_url: str) -> None:
    patient = _patient("Ada")
    answer = await _say(patient, "what do I take today?")
    assert "Metformin" in answer and "08:00" in answer and "20:00" in answer
    assert "blood sugar" in (await _say(patient, "what is metfromin for?")).lower()


def _lock_writes(redis_url: str) -> int:
    """How many SET commands the Redis server has run (Rasa stores each turn's lock so)."""
    stats = subprocess.run(["redis-cli", "-u", redis_url, "info", "commandstats"],
                           capture_output=True, text=True, check=True).stdout
    found = re.search(r"^cmdstat_set:calls=(\d+)", stats, re.MULTILINE)
    return int(found.group(1)) if found else 0


@pytest.mark.rasa
async def test_the_assistants_own_answers_are_the_catalogs_words(stack_db_url: str) -> None:
    """Rasa's domain names its responses by catalog id: the patient reads the words."""
    patient = _patient("Flo")
    assert await _say(patient, "hello") == t("conversation.greet")
    assert await _say(patient, "thanks a lot") == t("conversation.you_are_welcome")


async def test_a_rasa_answer_naming_a_catalog_text_is_given_in_its_words(db_url: str) -> None:
    """Text and button titles `msg:<id>` become the catalog's words on every channel;
    what an action wrote in words, and the buttons' payloads, pass unchanged."""

    def rasa(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[
            {"text": "msg:conversation.help"},
            {"text": "Which one do you mean?", "buttons": [
                {"title": "msg:join.agree", "payload": "/affirm"},
                {"title": "Metformin 500 mg", "payload": '/skip_dose{"medication": "x"}'}]}])

    client = RasaClient("http://rasa.test", 5, httpx.MockTransport(rasa))
    try:
        replies = await conversation.turn(client, _patient("Gil"), "help")
    finally:
        await client.aclose()
    assert replies == [Reply(t("conversation.help")), Reply("Which one do you mean?", [
        {"title": "✅ I agree", "payload": "/affirm"},
        {"title": "Metformin 500 mg", "payload": '/skip_dose{"medication": "x"}'}])]


@pytest.mark.rasa
async def test_rasa_locks_each_conversation_in_redis(stack_db_url: str, redis_url: str) -> None:
    before = _lock_writes(redis_url)
    assert "Metformin" in await _say(_patient("Eli"), "what do I take today?")
    assert _lock_writes(redis_url) > before


@pytest.mark.rasa
async def test_a_stranger_reaches_no_plan_data(stack_db_url: str) -> None:
    _patient("Bea")
    stranger = Patient(id=0, team_id=0, display_name="?", chat_ref="not-a-patient")
    answer = await _say(stranger, "what do I take today?")
    assert "Metformin" not in answer and "care team" in answer.lower()


@pytest.mark.parametrize("text", ["I have crushing chest pain",
                                  "my chest feels like an elephant is sitting on it"])
async def test_emergency_wording_gets_guidance_and_alerts_without_rasa(
        db_url: str, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "60")  # as if Rasa were starting
    get_settings.cache_clear()
    patient = _patient("Cem")
    started = time.monotonic()
    answer = await _say(patient, text)
    assert time.monotonic() - started < 5  # at once: the guard does not wait for Rasa
    assert "112" in answer
    with session() as db:
        [alert] = db.exec(select(Alert)).all()
        assert alert.kind == AlertKind.emergency and alert.severity == "urgent"
        assert alert.summary.endswith(text)  # what the nurse triages: the patient's words


async def test_a_reading_in_an_emergency_is_kept_beside_the_alert(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    get_settings.cache_clear()
    patient = _patient("Eda")
    assert "112" in await _say(patient, "Dad's sugar is 2.1 and he is not making sense")
    with session() as db:
        [reading] = db.exec(select(Reading)).all()
        kinds = {a.kind for a in db.exec(select(Alert)).all()}
    assert (reading.kind, reading.value) == ("glucose", 2.1)
    assert kinds == {AlertKind.emergency, AlertKind.reading}


async def test_when_rasa_is_down_the_patient_hears_so_within_five_seconds(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    patient = _patient("Dan")
    settings = get_settings()
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds)
    started = time.monotonic()
    replies = await conversation.turn(rasa, patient, "what do I take today?")
    await rasa.aclose()
    assert time.monotonic() - started < 5
    assert replies == [Reply(t("conversation.unavailable", number="112"))]
    assert "If this is an emergency, call 112 now" in replies[0].text


class StartingRasa:
    """The Rasa server as a channel sees it while it loads its model: nothing listens on
    its port until it is up (`up_after` seconds from now; None: never)."""

    def __init__(self, up_after: float | None) -> None:
        self.up_at = None if up_after is None else time.monotonic() + up_after
        self.messages: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.up_at is None or time.monotonic() < self.up_at:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        self.messages.append(json.loads(request.content)["message"])
        return httpx.Response(200, json=[{"text": "Today: Metformin 500 mg at 08:00."}])

    def client(self, hold_seconds: float) -> RasaClient:
        return RasaClient("http://rasa", 4.0, httpx.MockTransport(self),
                          hold_seconds=hold_seconds)


async def test_a_message_sent_while_rasa_starts_gets_the_real_answer_once_it_is_up(
        db_url: str) -> None:
    patient, rasa = _patient("Eva"), StartingRasa(up_after=1.5)
    client, holds = rasa.client(hold_seconds=30), []

    async def typing() -> None:
        holds.append(time.monotonic())

    started = time.monotonic()
    replies = await conversation.turn(client, patient, "what do I take today?", typing)
    assert replies == [Reply("Today: Metformin 500 mg at 08:00.")]
    assert 1.5 <= time.monotonic() - started < 5
    assert rasa.messages == ["what do I take today?"]  # sent once, when Rasa was up
    assert holds and holds[0] - started < 0.5  # "typing" at once while held
    await client.aclose()


async def test_when_rasa_is_not_up_within_the_hold_the_fallback_carries_the_team_number(
        db_url: str) -> None:
    patient, rasa = _patient("Fay"), StartingRasa(up_after=None)
    with session() as db:
        team = db.get(CareTeam, patient.team_id)
        assert team is not None
        team.emergency_number = "999"
    client = rasa.client(hold_seconds=1)
    started = time.monotonic()
    [reply] = await conversation.turn(client, patient, "what do I take today?")
    assert 1 <= time.monotonic() - started < 4
    assert reply.text == t("conversation.unavailable", number="999")
    assert "If this is an emergency, call 999 now" in reply.text
    # The outage has outlasted its hold: the next message is not held again ...
    started = time.monotonic()
    [reply] = await conversation.turn(client, patient, "hello?")
    assert time.monotonic() - started < 1 and "call 999 now" in reply.text
    # ... and once Rasa is back, answers are real again.
    rasa.up_at = time.monotonic()
    assert (await conversation.turn(client, patient, "hello?"))[0].text.startswith("Today")
    await client.aclose()


async def test_a_slow_rasa_is_not_held_for(db_url: str) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer in time", request=request)

    client = RasaClient("http://rasa", 4.0, httpx.MockTransport(slow), hold_seconds=60)
    started = time.monotonic()
    [reply] = await conversation.turn(client, _patient("Gus"), "what do I take today?")
    assert time.monotonic() - started < 2
    assert reply.text == t("conversation.unavailable", number="112")
    await client.aclose()


async def test_a_held_message_gets_the_fallback_at_once_when_the_channel_stops(
        db_url: str) -> None:
    client = StartingRasa(up_after=None).client(hold_seconds=60)
    turn = asyncio.create_task(conversation.turn(client, _patient("Hal"), "hello"))
    await asyncio.sleep(0.5)
    assert not turn.done()  # held
    started = time.monotonic()
    client.release()
    [reply] = await asyncio.wait_for(turn, timeout=5)
    assert time.monotonic() - started < 1 and "call 112 now" in reply.text
    await client.aclose()


# Diagnosis questions: never left to NLU confidence (DESIGN guarantee 6) ----------------

DIAGNOSIS_QUESTIONS = [
    "do i have diabetes", "Do I have diabetes?", "do i hav diabetis", "am i diabetic now?",
    "could i have cancer", "have i got an infection", "do you think i have covid",
    "is it the flu", "could this be a heart problem", "what's wrong with me",
    "can you diagnose me", "what is my diagnosis", "do i have high blood pressure",
    "might i have kidney disease", "is this diabetes or something else",
    "my sugar was 9 this morning, do i have diabetes?",
]
NOT_DIAGNOSIS = [  # questions of the plan that merely sound alike
    "do i have any pills left today", "do i have to take it with food",
    "do i have anything to take now?", "what do i have tomorrow", "do i have my flu jab today",
    "wat pils do i hav tmrw", "what is metformin for", "advice for my diabetes",
    "do i have diabetes tablets tonight", "could i have a glass of wine with dinner",
]


def _relays(answer: str) -> bool:
    return "question for your care team" in answer and "passed it on" in answer


@pytest.mark.parametrize("text", DIAGNOSIS_QUESTIONS)
async def test_a_diagnosis_question_goes_to_the_care_team_whatever_nlu_thinks(
        db_url: str, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    get_settings.cache_clear()
    patient = _patient("Fay")
    answer = await _say(patient, text)
    assert _relays(answer), answer
    with session() as db:
        [alert] = db.exec(select(Alert)).all()
        assert alert.kind == AlertKind.question and text in alert.summary


@pytest.mark.parametrize("text", NOT_DIAGNOSIS)
async def test_plan_questions_that_sound_alike_still_go_to_the_assistant(
        db_url: str, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "0")  # nobody there: no need to wait
    get_settings.cache_clear()
    assert await _say(_patient("Gus"), text) == t("conversation.unavailable", number="112")


@pytest.mark.rasa
async def test_do_i_have_diabetes_is_relayed_never_given_a_tip(stack_db_url: str) -> None:
    patient = _patient("Hal")
    answer = await _say(patient, "do i have diabetes")
    assert _relays(answer) and "💡" not in answer
    # Rasa on its own (the second net, as for emergencies) relays it too.
    settings = get_settings()
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds * 3)
    try:
        for text in ("do i have diabetes", "am i diabetic?"):
            direct = "\n".join(r.text for r in await rasa.send(patient.chat_ref, text))
            assert _relays(direct) and "💡" not in direct, (text, direct)
    finally:
        await rasa.aclose()


@pytest.mark.rasa
async def test_a_missed_dose_question_gets_the_care_teams_instruction(
        stack_db_url: str) -> None:
    patient = _patient("Ida")
    with session() as db:
        [(med, _)] = medications.medications(db, patient.id)
        medications.update_medication(db, med, {"missed_dose_instructions": "Take it when you "
                                             "remember, unless it is nearly time for the next."},
                                   actor="test")
    answer = await _say(patient, "i forgot my morning dose what do i do")
    assert answer == ("If you miss a dose of Metformin 500 mg, your care team says: Take it "
                      "when you remember, unless it is nearly time for the next.")


@pytest.mark.rasa
async def test_a_schedule_question_about_tomorrow_answers_for_tomorrow(
        stack_db_url: str) -> None:
    zone = noon_zone()
    tomorrow = (datetime.now(ZoneInfo(zone)) + timedelta(days=1)).date()
    with session() as db:
        team = teams.add_team(db, name="Team of Jo", actor="test")
        patient = patients.add_patient(db, team=team, name="Jo", timezone=zone, actor="test")
        medications.add_medication(db, patient=patient, name="Alendronate", actor="test",
                                schedule=ScheduleSpec(
                                    times=("07:00",), days=DAY_CODES[tomorrow.weekday()]))
    answer = await _say(patient, "wat pils do i hav tmrw")
    assert answer == (f"Tomorrow, {tomorrow:%a} {tomorrow.day} {tomorrow:%b}:\n"
                      "• 07:00 Alendronate, 1 tablet")
    assert "Alendronate" not in await _say(patient, "what do i take today?")
