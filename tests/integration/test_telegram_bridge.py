"""The Telegram bridge with the real python-telegram-bot against the local Bot API
emulator: enrolment and its refusals, /stop, dose buttons with Rasa down, odd input."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import select

from assistant.channels.telegram.sender import TelegramSender
from assistant.config import get_settings
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import EnrolmentRefused
from assistant.scheduling.planner import Policy, run_once
from assistant.services import enrolment, medications, outbox, patients, teams
from assistant.storage.db import get_engine, session, utcnow
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    CareTeam,
    ChatLink,
    DoseOccurrence,
    DoseStatus,
    EnrolmentCode,
    OutboxMessage,
    OutboxStatus,
    Patient,
)
from assistant.texts import t
from tests.conftest import PrivatePostgres, free_port
from tests.telegram_emulator import Emulator

CHAT = 4242


def _patient(name: str = "Ada") -> Patient:
    with session() as db:
        team = teams.add_team(db, name=f"Team {name}", actor="test")
        patient = patients.add_patient(db, team=team, name=name, timezone="Europe/Berlin",
                                       actor="test")
        medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                actor="test", schedule=ScheduleSpec(times=("08:00",)))
        return patient


def _code(patient: Patient, hours: int = 72) -> str:
    with session() as db:
        return enrolment.issue_code(db, patient=patient, actor="test", hours=hours).code


def _enrol(emulator: Emulator, patient: Patient, chat: int = CHAT) -> None:
    emulator.inject_text(chat, f"/start {_code(patient)}")
    [notice] = emulator.wait_for(chat)
    assert "not a medical device" in notice.text
    assert notice.buttons[0][0] == "✅ I agree"
    emulator.wait_answered(emulator.inject_callback(chat, notice, notice.buttons[0][1]))
    welcome = emulator.wait_for(chat, 2)[1]
    assert welcome.text.startswith(f"You're all set, {patient.display_name}")


def _linked(chat: int = CHAT) -> int | None:
    with session() as db:
        link = enrolment.active_link(db, "telegram", str(chat))
        return link.patient_id if link else None


def test_a_patient_enrols_with_a_code_after_agreeing_to_the_notice(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    assert _linked() == patient.id
    with session() as db:
        stored = db.get(Patient, patient.id)
        assert stored is not None and stored.consent_at is not None
    assert {c["command"] for c in bridge.commands} == {"today", "help", "pause", "resume",
                                                       "language", "stop"}


def test_nothing_is_linked_without_agreement(bridge: Emulator) -> None:
    patient = _patient()
    bridge.inject_text(CHAT, f"/start {_code(patient)}")
    [notice] = bridge.wait_for(CHAT)
    bridge.wait_answered(bridge.inject_callback(CHAT, notice, notice.buttons[1][1]))
    assert "nothing was linked" in bridge.wait_for(CHAT, 2)[1].text
    assert _linked() is None


@pytest.mark.parametrize("case", ["wrong", "used", "expired"])
def test_a_bad_code_gets_the_same_neutral_answer(bridge: Emulator, case: str) -> None:
    patient = _patient()
    code = {"wrong": lambda: "NOTACODE12", "used": lambda: _code(patient),
            "expired": lambda: _code(patient, hours=1)}[case]()
    if case == "used":
        with session() as db:
            enrolment.redeem_code(db, code=code, channel="telegram", chat_id="1")
    if case == "expired":
        with session() as db:
            for row in db.exec(select(EnrolmentCode)):
                row.expires_at = utcnow() - timedelta(minutes=1)
    bridge.inject_text(CHAT, f"/start {code}")
    assert bridge.wait_for(CHAT)[0].text == t("join.refused")
    assert _linked() is None


def test_repeated_wrong_codes_are_throttled(bridge: Emulator) -> None:
    patient = _patient()
    for n in range(5):
        bridge.inject_text(CHAT, f"/start WRONG{n}XYZW")
        bridge.wait_for(CHAT, n + 1)
    bridge.inject_text(CHAT, f"/start {_code(patient)}")  # even the right one, for now
    assert "Too many tries" in bridge.wait_for(CHAT, 6)[5].text
    assert _linked() is None


def test_a_new_code_revokes_the_patients_older_ones(bridge: Emulator) -> None:
    patient = _patient()
    older, newer = _code(patient), _code(patient)
    bridge.inject_text(CHAT, f"/start {older}")
    assert bridge.wait_for(CHAT)[0].text == t("join.refused")
    bridge.inject_text(CHAT, f"/start {newer}")
    assert "not a medical device" in bridge.wait_for(CHAT, 2)[1].text


def test_a_code_already_shown_is_refused_once_a_newer_one_is_issued(bridge: Emulator) -> None:
    patient = _patient()
    bridge.inject_text(CHAT, f"/start {_code(patient)}")
    [notice] = bridge.wait_for(CHAT)
    _code(patient)  # the team issues another code before this chat agreed
    bridge.inject_callback(CHAT, notice, notice.buttons[0][1])
    assert bridge.wait_for(CHAT, 2)[1].text == t("join.refused")
    assert _linked() is None


def test_moving_a_patient_to_another_chat_tells_the_old_chat_and_the_team(
        bridge: Emulator) -> None:
    patient, other = _patient(), CHAT + 1
    _enrol(bridge, patient)
    _enrol(bridge, patient, chat=other)
    told = bridge.wait_for_text(CHAT, "another Telegram chat")
    assert "care team" in told.text
    assert _linked(other) == patient.id and _linked(CHAT) is None
    with session() as db:
        [old] = db.exec(select(ChatLink).where(ChatLink.chat_id == str(CHAT))).all()
        assert old.unlinked_at is not None and told.at < old.unlinked_at.timestamp()
        [alert] = db.exec(select(Alert).where(Alert.patient_id == patient.id)).all()
    assert alert.kind == AlertKind.chat_changed and alert.severity == AlertSeverity.high
    assert "previous chat was told" in alert.summary
    assert len(bridge.messages_to(CHAT)) == 3  # notice, welcome, and the word of the move


@pytest.fixture
def six_wrong_codes_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the bridge starts (it reads the settings as it starts)."""
    monkeypatch.setenv("CARELOOP_ENROLMENT_FAILURES_PER_HOUR", "6")
    get_settings.cache_clear()


def test_many_chats_guessing_are_throttled_together(six_wrong_codes_an_hour: None,
                                                   bridge: Emulator) -> None:
    patient = _patient()
    for chat in range(100, 106):  # each chat stays under its own limit of 5
        bridge.inject_text(chat, f"/start WRONG{chat}XYZ")
        assert bridge.wait_for(chat)[0].text == t("join.refused")
    bridge.inject_text(CHAT, f"/start {_code(patient)}")  # even a right code, for now
    assert "Too many tries" in bridge.wait_for(CHAT)[0].text
    assert _linked() is None


def test_codes_are_kept_only_as_a_hash_keyed_with_the_server_secret(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    patient = _patient()
    code = _code(patient)
    with session() as db:
        [row] = db.exec(select(EnrolmentCode)).all()
    assert row.code_hash not in {hashlib.sha256(code.encode()).hexdigest(),
                                 hashlib.sha256(code.lower().encode()).hexdigest()}
    with session() as db:
        assert enrolment.check_code(db, code=code.lower(), chat_id="1").id == patient.id
    # Without the server's secret, the stored hashes do not tell a guess from the code.
    monkeypatch.setenv("CARELOOP_SECRET_KEY", "another server's secret, 32+ chars")
    get_settings.cache_clear()
    with session() as db, pytest.raises(EnrolmentRefused):
        enrolment.check_code(db, code=code, chat_id="1")


def test_an_unlinked_chat_learns_how_to_join_and_nothing_else(bridge: Emulator) -> None:
    _patient()
    bridge.inject_text(CHAT, "what do I take today?")
    assert bridge.wait_for(CHAT)[0].text == t("join.hello")
    bridge.inject_text(CHAT, "/start")
    assert bridge.wait_for(CHAT, 2)[1].text == t("join.hello")


def test_stop_unlinks_the_chat_and_drops_what_was_waiting(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    with session() as db:
        db.add(OutboxMessage(patient_id=patient.id, kind="advice", text="tip"))
    bridge.inject_text(CHAT, "/stop")
    assert bridge.wait_for(CHAT, 3)[2].text == t("join.stopped")
    assert _linked() is None
    with session() as db:
        assert [m.status for m in db.exec(select(OutboxMessage))] == [OutboxStatus.dropped]
    bridge.inject_text(CHAT, "hello?")
    assert bridge.wait_for(CHAT, 4)[3].text == t("join.hello")


def _due_now(patient: Patient) -> int:
    """A dose of the patient's falling due now, moved on by the real scheduler step."""
    with session() as db:
        [(med, row)] = medications.medications(db, patient.id)
        assert row is not None
        occ = DoseOccurrence(schedule_id=row.id, medication_id=med.id, patient_id=patient.id,
                             due_at=utcnow().replace(microsecond=0))
        db.add(occ)
        db.flush()
        occ_id = occ.id
    run_once(get_engine(), Policy.from_settings(get_settings()))
    return occ_id


def deliver_outbox(timeout: float = 10.0) -> None:
    """Run the real outbox drain with the Telegram sender until nothing is pending."""

    async def drain() -> None:
        sender = TelegramSender.from_settings(get_settings())
        stop = asyncio.Event()
        async with sender.bot:
            task = asyncio.create_task(outbox.drain(sender.send, channel="telegram", stop=stop,
                                                    idle_seconds=0.05))
            deadline = time.monotonic() + timeout
            while _pending() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stop.set()
            await task

    asyncio.run(drain())


def _pending() -> int:
    with session() as db:
        return len(db.exec(select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.pending)).all())


def test_dose_buttons_work_with_rasa_down_and_record_once(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    occ_id = _due_now(patient)  # Rasa is not running in this test
    deliver_outbox()
    message = bridge.wait_for(CHAT, 3)[2]
    assert "Time for your Metformin 500 mg" in message.text
    assert [title for title, _ in message.buttons] == ["✅ Taken", "⏰ Snooze 15 min", "Skip"]
    taken = bridge.inject_callback(CHAT, message, message.buttons[0][1])
    deadline = time.monotonic() + 10
    while len(bridge.edits) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "✅ Noted: Metformin 500 mg taken" in bridge.edits[-1]["text"]
    skipped = bridge.inject_callback(CHAT, message, message.buttons[2][1])
    while len(bridge.edits) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "already recorded" in bridge.edits[-1]["text"]
    for query in (taken, skipped):  # every query answered
        bridge.wait_answered(query)
    with session() as db:
        occ = db.get(DoseOccurrence, occ_id)
        assert occ is not None and occ.status == DoseStatus.taken
        assert occ.outcome_source == "button"


def test_a_button_of_another_patients_dose_changes_nothing(bridge: Emulator) -> None:
    ada, bob = _patient("Ada"), _patient("Bob")
    _enrol(bridge, ada)
    bobs = _due_now(bob)
    [_, welcome] = bridge.wait_for(CHAT, 2)
    bridge.wait_answered(bridge.inject_callback(CHAT, welcome, f"dose:{bobs}:taken"))
    # The handler's last step: the buttons taken off the message pressed.
    bridge.wait_until(lambda: any(str(edit.get("message_id")) == str(welcome.message_id)
                                  for edit in bridge.edits), "the press handled to its end")
    with session() as db:
        stored = db.get(DoseOccurrence, bobs)
        assert stored is not None and stored.status == DoseStatus.sent


def test_stickers_photos_and_edits_get_a_polite_answer(bridge: Emulator) -> None:
    bridge.inject_sticker(CHAT)
    bridge.inject_photo(CHAT)
    bridge.inject_edited(CHAT, "changed my mind")
    texts = [m.text for m in bridge.wait_for(CHAT, 3)]
    assert texts.count(t("chat.unsupported")) == 2 and t("chat.edited") in texts


def test_odd_and_huge_text_is_answered_without_a_crash(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    started = time.monotonic()
    bridge.inject_text(CHAT, "\u202e\u0000💊" * 3000)
    # Rasa is down here: the fallback, with the emergency number
    assert bridge.wait_for(CHAT, 3)[2].text == t("conversation.unavailable", number="112")
    assert time.monotonic() - started < 5


def test_webhook_mode_accepts_only_updates_carrying_the_secret(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from tests.conftest import free_port
    from tests.telegram_fixtures import Running, serve_telegram

    port, secret = free_port(), "s3cret-token-of-sixteen+"
    monkeypatch.setenv("CARELOOP_WEBHOOK_URL", "https://careloop.example.org/hook")
    monkeypatch.setenv("CARELOOP_WEBHOOK_SECRET", secret)
    monkeypatch.setenv("CARELOOP_WEBHOOK_PORT", str(port))
    get_settings.cache_clear()
    update = {"update_id": 1, "message": {
        "message_id": 1, "date": int(time.time()), "text": "hello",
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "Pat"}}}
    with Running(serve_telegram):
        url = f"http://127.0.0.1:{port}/telegram"
        deadline = time.monotonic() + 15
        while True:
            try:
                forged = httpx.post(url, json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the webhook did not start"
                time.sleep(0.1)
        assert forged.status_code == 403
        genuine = httpx.post(url, json={**update, "update_id": 2},
                             headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        assert genuine.status_code == 200
        [reply] = telegram_emulator.wait_for(CHAT)
        assert reply.text == t("join.hello")
        time.sleep(0.3)
        assert len(telegram_emulator.messages_to(CHAT)) == 1  # nothing for the forged one
    assert telegram_emulator.calls.get("setWebhook") == 1


def test_a_message_held_for_rasa_shows_typing_and_holds_up_no_other_chat(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import free_port
    from tests.telegram_fixtures import Running, serve_telegram

    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # starting
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "4")
    get_settings.cache_clear()
    telegram, other = telegram_emulator, CHAT + 1
    with Running(serve_telegram):
        _enrol(telegram, _patient())
        sent = time.monotonic()
        telegram.inject_text(CHAT, "what do I take today?")
        telegram.inject_text(other, "hello")  # someone else, while that message is held
        assert telegram.wait_for(other)[0].text == t("join.hello")
        assert time.monotonic() - sent < 3
        deadline = time.monotonic() + 3
        while (CHAT, "typing") not in telegram.chat_actions:
            assert time.monotonic() < deadline, "no 'typing' while the message was held"
            time.sleep(0.05)
        fallback = telegram.wait_for(CHAT, 3, timeout=15)[2]
        assert time.monotonic() - sent >= 4  # held for the whole hold, not answered at once
        assert fallback.text == t("conversation.unavailable", number="112")


def test_an_emergency_is_answered_at_once_even_behind_a_held_message(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import free_port
    from tests.telegram_fixtures import Running, serve_telegram

    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # starting
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "30")
    get_settings.cache_clear()
    with Running(serve_telegram):
        _enrol(telegram_emulator, _patient())
        telegram_emulator.inject_text(CHAT, "what do I take today?")  # held for Rasa
        telegram_emulator.inject_text(CHAT, "my lips are turning blue")
        sent = time.monotonic()
        guidance = telegram_emulator.wait_for(CHAT, 3, timeout=20)[2]
        assert "Call 112 now" in guidance.text and time.monotonic() - sent < 5
    # Stopping answers the held message at once, with the fallback.
    assert telegram_emulator.wait_for(CHAT, 4)[3].text == t("conversation.unavailable",
                                                             number="112")


def test_a_message_the_bridge_was_killed_before_answering_is_answered_after_it_restarts(
        telegram_emulator: Emulator, db_url: str) -> None:
    """Telegram forgets an update once the bridge confirms it: a bridge that confirms what
    it has not answered yet loses the message when it is killed."""
    from tests.integration.test_supervisor import careloop, stop

    telegram, patient = telegram_emulator, _patient()
    with session() as db:
        db.add(ChatLink(patient_id=patient.id, chat_id=str(CHAT)))
    rasa_down = {"CARELOOP_RASA_URL": f"http://127.0.0.1:{free_port()}"}  # nothing listens
    first = careloop("run", "--only", "bridge",
                     env={**rasa_down, "CARELOOP_RASA_HOLD_SECONDS": "120"})
    bridges = [first]
    try:
        first.wait_for("bridge started", timeout=60)
        telegram.inject_text(CHAT, "what do I take today?")
        deadline = time.monotonic() + 30
        while (CHAT, "typing") not in telegram.chat_actions:  # in the bridge's hands
            assert time.monotonic() < deadline, first.output(timeout=0)
            time.sleep(0.05)
        first.process.kill()
        first.process.wait()
        assert telegram.messages_to(CHAT) == []
        bridges.append(careloop("run", "--only", "bridge",
                                env={**rasa_down, "CARELOOP_RASA_HOLD_SECONDS": "0"}))
        answer = telegram.wait_for_text(CHAT, "If this is an emergency, call 112", timeout=60)
        assert answer.text.startswith("Sorry, I can't answer right now")
        # Stopped cleanly, the bridge tells Telegram what it answered: nothing comes twice.
        bridges[-1].process.send_signal(signal.SIGTERM)
        assert bridges[-1].process.wait(timeout=30) == 0
        bridges.append(careloop("run", "--only", "bridge",
                                env={**rasa_down, "CARELOOP_RASA_HOLD_SECONDS": "0"}))
        telegram.inject_text(CHAT, "/start")
        telegram.wait_for_text(CHAT, "You're all set", timeout=60)
        bridges[-1].process.send_signal(signal.SIGTERM)  # what it took is answered by then
        assert bridges[-1].process.wait(timeout=30) == 0
        assert [m.text.split(",")[0] for m in telegram.messages_to(CHAT)] == [
            "Sorry", "You're all set"]
    finally:
        for bridge in bridges:
            stop(bridge)


@pytest.mark.postgres
def test_with_the_database_stopped_a_patient_gets_the_fallback_and_an_emergency_its_alert_after(
        telegram_emulator: Emulator, own_postgres: PrivatePostgres,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.telegram_fixtures import Running, serve_telegram

    telegram = telegram_emulator
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # Rasa down
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "0")
    get_settings.cache_clear()
    patient = _patient()
    with session() as db:
        team = db.get(CareTeam, patient.team_id)
        assert team is not None
        team.emergency_number, team.crisis_line = "999", "the Samaritans"
        db.add(ChatLink(patient_id=patient.id, chat_id=str(CHAT)))
    with Running(serve_telegram):
        telegram.inject_text(CHAT, "hello")
        assert telegram.wait_for(CHAT, timeout=30)[0].text == t("conversation.unavailable",
                                                                number="999")
        own_postgres.stop()
        telegram.inject_text(CHAT, "what do I take today?")
        assert telegram.wait_for(CHAT, 2, timeout=30)[1].text == \
            t("conversation.unavailable", number="999")  # the team's, not the default
        telegram.inject_text(CHAT, "my chest feels like an elephant is sitting on it")
        guidance = telegram.wait_for(CHAT, 3, timeout=30)[2].text
        assert "Call 999 now" in guidance and "the Samaritans" in guidance
        own_postgres.start()
        deadline = time.monotonic() + 30
        while not _alerts(patient):  # recorded once the database is back
            assert time.monotonic() < deadline, "the emergency's alert was never recorded"
            time.sleep(0.2)
        assert _alerts(patient) == [AlertKind.emergency]


@pytest.mark.postgres
def test_a_reminders_button_and_stop_while_the_database_is_stopped_are_recorded_after(
        telegram_emulator: Emulator, own_postgres: PrivatePostgres) -> None:
    """Seen in the fault-injection suite: a "Taken" pressed while the database was down
    was answered (the spinner stopped) and then lost."""
    from tests.telegram_emulator import Sent
    from tests.telegram_fixtures import Running, serve_telegram

    telegram, patient = telegram_emulator, _patient()
    with session() as db:
        db.add(ChatLink(patient_id=patient.id, chat_id=str(CHAT)))
        [(med, row)] = medications.medications(db, patient.id)
        assert row is not None
        occ = DoseOccurrence(schedule_id=row.id, medication_id=med.id, patient_id=patient.id,
                             due_at=utcnow(), status=DoseStatus.sent, reminders_sent=1)
        db.add(occ)
        db.flush()
        occ_id = occ.id
    reminder = Sent(CHAT, 5000, "💊 Time for your Metformin 500 mg (08:00).",
                    {"inline_keyboard": [[{"text": "✅ Taken",
                                           "callback_data": f"dose:{occ_id}:taken"}]]},
                    time.time())

    def until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.1)

    def status() -> DoseStatus:
        with session() as db:
            found = db.get(DoseOccurrence, occ_id)
            assert found is not None
            return found.status

    with Running(serve_telegram):
        until(lambda: telegram.calls.get("getUpdates", 0) > 0, "the bridge polls")
        own_postgres.stop()
        telegram.inject_callback(CHAT, reminder, f"dose:{occ_id}:taken")
        until(lambda: len(telegram.answered) == 1, "the button is answered at once")
        own_postgres.start()
        until(lambda: status() == DoseStatus.taken, "the dose is recorded once it is back")
        until(lambda: any("Noted" in str(e.get("text")) for e in telegram.edits),
              "the reminder shows it")
        own_postgres.stop()
        telegram.inject_text(CHAT, "/stop")
        own_postgres.start()
        telegram.wait_for_text(CHAT, t("join.stopped"), timeout=30)
    assert _linked() is None


def _alerts(patient: Patient) -> list[AlertKind]:
    with session() as db:
        return [a.kind for a in db.exec(select(Alert).where(Alert.patient_id == patient.id))]
