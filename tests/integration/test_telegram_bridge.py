"""The Telegram bridge with the real python-telegram-bot against the local Bot API
emulator: enrolment and its refusals, /stop, commands, dose buttons with Rasa down,
Rasa answers and buttons (a fake Rasa REST endpoint), blocked chats, odd input."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlmodel import select

from assistant import conversation, enrolment, patients
from assistant.db import get_engine, session, utcnow
from assistant.models import (
    Alert,
    AlertKind,
    DoseOccurrence,
    DoseStatus,
    EnrolmentCode,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
)
from assistant.settings import Settings, get_settings
from assistant.telegram import bridge as bridge_mod
from scheduler.planner import Policy, run_once
from tests.fake_rasa import FakeRasa
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import Running, deliver_outbox

__all__ = ["CHAT", "_due_now", "_enrol", "_patient", "deliver_outbox"]  # used by end-to-end

CHAT = 4242


def _patient(name: str = "Ada") -> Patient:
    with session() as db:
        team = patients.add_team(db, name=f"Team {name}", actor="test")
        patient = patients.add_patient(db, team=team, name=name, timezone="Europe/Berlin",
                                       actor="test")
        patients.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                actor="test", schedule=patients.ScheduleSpec(times=("08:00",)))
        return patient


def _code(patient: Patient, hours: int = 72) -> str:
    with session() as db:
        return enrolment.issue_code(db, patient=patient, actor="test", hours=hours).code


def _enrol(emulator: Emulator, patient: Patient, chat: int = CHAT) -> None:
    """The whole enrolment: /start CODE, the notice, "I agree", the welcome."""
    before = len(emulator.sent(chat))
    emulator.inject_command(chat, "start", _code(patient))
    notice = emulator.wait_for(chat, before + 1)[before]
    assert "not a medical device" in notice.text
    assert notice.buttons[0][0] == "✅ I agree"
    emulator.inject_callback(chat, notice, notice.buttons[0][1])
    welcome = emulator.wait_for(chat, before + 2)[before + 1]
    assert welcome.text.startswith(f"You're all set, {patient.display_name}")


def _linked(chat: int = CHAT) -> int | None:
    with session() as db:
        link = enrolment.active_link(db, "telegram", str(chat))
        return link.patient_id if link else None


def _due_now(patient: Patient) -> int:
    """A dose of the patient's falling due now, moved on by the real scheduler step (the
    reminder goes into the outbox)."""
    with session() as db:
        [(med, row)] = patients.medications(db, patient.id)
        assert row is not None
        occ = DoseOccurrence(schedule_id=row.id, medication_id=med.id, patient_id=patient.id,
                             due_at=utcnow().replace(microsecond=0))
        db.add(occ)
        db.flush()
        occ_id = occ.id
    run_once(get_engine(), Policy.from_settings(get_settings()))
    return occ_id


def _status(occurrence_id: int) -> DoseStatus:
    with session() as db:
        occ = db.get(DoseOccurrence, occurrence_id)
        assert occ is not None
        return occ.status


def _settle(emulator: Emulator, seconds: float = 0.3) -> None:
    """Give the bridge time to (wrongly) do more, for tests that prove it does nothing."""
    time.sleep(seconds)


# --- enrolment ---------------------------------------------------------------------------

def test_a_patient_enrols_with_a_code_after_agreeing_to_the_notice(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    assert _linked() == patient.id
    with session() as db:
        stored = db.get(Patient, patient.id)
        assert stored is not None and stored.consent_at is not None
    [notice, _] = bridge.sent(CHAT)
    assert notice.buttons == []  # the choice is made once: the buttons are gone
    assert not bridge.unanswered()
    assert [c["command"] for c in bridge.commands] == ["today", "help", "pause", "resume",
                                                       "stop"]


def test_nothing_is_linked_without_agreement(bridge: Emulator) -> None:
    patient = _patient()
    bridge.inject_command(CHAT, "start", _code(patient))
    [notice] = bridge.wait_for(CHAT)
    bridge.inject_callback(CHAT, notice, notice.buttons[1][1])
    assert bridge.wait_for(CHAT, 2)[1].text == bridge_mod.DECLINED
    assert _linked() is None


def test_pressing_agree_twice_links_once_and_says_nothing_odd(bridge: Emulator) -> None:
    patient = _patient()
    bridge.inject_command(CHAT, "start", _code(patient))
    [notice] = bridge.wait_for(CHAT)
    data = notice.buttons[0][1]
    bridge.inject_callback(CHAT, notice, data)
    bridge.inject_callback(CHAT, notice, data)  # a double tap, before the buttons went
    bridge.wait_for_answers(2)
    _settle(bridge)
    assert [m.text[:15] for m in bridge.sent(CHAT)][1:] == ["You're all set,"]
    assert _linked() == patient.id


@pytest.mark.parametrize("case", ["wrong", "used", "expired"])
def test_a_bad_code_gets_the_same_neutral_answer(bridge: Emulator, case: str) -> None:
    patient = _patient()
    code = "NOTACODE12" if case == "wrong" else _code(patient)
    if case == "used":
        with session() as db:
            enrolment.redeem_code(db, code=code, channel="telegram", chat_id="1")
    if case == "expired":
        with session() as db:
            for row in db.exec(select(EnrolmentCode)):
                row.expires_at = utcnow() - timedelta(minutes=1)
    bridge.inject_command(CHAT, "start", code)
    assert [m.text for m in bridge.wait_for(CHAT)] == [enrolment.REFUSED]
    assert _linked() is None


def test_repeated_wrong_codes_are_throttled(bridge: Emulator) -> None:
    patient = _patient()
    for n in range(enrolment.MAX_FAILED_PER_HOUR):
        bridge.inject_command(CHAT, "start", f"WRONG{n}XYZW")
        bridge.wait_for(CHAT, n + 1)
    bridge.inject_command(CHAT, "start", _code(patient))  # even the right one, for now
    answers = [m.text for m in bridge.wait_for(CHAT, 6)]
    assert answers[:5] == [enrolment.REFUSED] * 5
    assert answers[5].startswith("Too many tries")
    assert _linked() is None


def test_an_unlinked_chat_learns_how_to_join_and_nothing_else(
        fake_rasa: FakeRasa, bridge: Emulator) -> None:
    dose = _due_now(_patient())
    bridge.inject_text(CHAT, "what do I take today?")
    bridge.inject_command(CHAT, "start")
    bridge.inject_command(CHAT, "today")
    bridge.inject_command(CHAT, "help")
    bridge.inject_command(CHAT, "pause")
    bridge.inject_sticker(CHAT)
    bridge.inject_edited_message(CHAT, "edited")
    texts = [m.text for m in bridge.wait_for(CHAT, 7)]
    assert texts == [bridge_mod.JOIN] * 7
    welcome_like = bridge.sent(CHAT)[0]
    bridge.inject_callback(CHAT, welcome_like, f"dose:{dose}:taken")
    bridge.wait_for_answers(1)
    _settle(bridge)
    assert len(bridge.sent(CHAT)) == 7 and not bridge.edits
    assert fake_rasa.received == []  # nothing of theirs reached the assistant
    assert _status(dose) == DoseStatus.sent


def test_groups_get_a_pointer_to_a_private_chat_and_nothing_else(bridge: Emulator) -> None:
    group = -100123
    bridge.inject_command(group, "start", "ABCDEFGHJK", user=CHAT, chat_type="supergroup")
    bridge.inject_text(group, "hello everyone", user=CHAT, chat_type="supergroup")
    assert [m.text for m in bridge.wait_for(group)] == [bridge_mod.GROUPS]
    _settle(bridge)
    assert len(bridge.sent(group)) == 1
    with session() as db:
        assert db.exec(select(EnrolmentCode)).all() == []


# --- linked chats ------------------------------------------------------------------------

def test_stop_unlinks_the_chat_and_nothing_more_is_sent(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    with session() as db:
        db.add(OutboxMessage(patient_id=patient.id, kind=MessageKind.advice, text="tip"))
    bridge.inject_command(CHAT, "stop")
    assert bridge.wait_for(CHAT, 3)[2].text == bridge_mod.STOPPED
    assert _linked() is None
    with session() as db:
        assert [m.status for m in db.exec(select(OutboxMessage))] == [OutboxStatus.dropped]
        db.add(OutboxMessage(patient_id=patient.id, kind=MessageKind.advice, text="later"))
    _due_now(patient)
    deliver_outbox(timeout=0.5)
    assert len(bridge.sent(CHAT)) == 3  # no reminder, no advice
    bridge.inject_text(CHAT, "hello?")
    assert bridge.wait_for(CHAT, 4)[3].text == bridge_mod.JOIN


def test_today_answers_from_storage_while_rasa_is_down(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    bridge.inject_command(CHAT, "today")
    bridge.inject_command(CHAT, "help")
    today, help_text = (m.text for m in bridge.wait_for(CHAT, 4)[2:])
    assert today == "Your doses today:\n• 08:00 Metformin 500 mg, 1 tablet"
    assert "/pause" in help_text and "112" in help_text


def test_dose_buttons_work_with_rasa_down_and_record_once(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    occ_id = _due_now(patient)
    deliver_outbox()
    reminder = bridge.wait_for(CHAT, 3)[2]
    assert "Time for your Metformin 500 mg" in reminder.text
    buttons = reminder.buttons
    assert [title for title, _ in buttons] == ["✅ Taken", "⏰ Snooze 15 min", "Skip"]
    bridge.inject_callback(CHAT, reminder, buttons[0][1])
    bridge.wait_until(lambda: reminder.edited == 1, what="the reminder edited")
    assert reminder.text.endswith("✅ Noted: Metformin 500 mg taken. Well done!")
    assert reminder.buttons == []
    bridge.inject_callback(CHAT, reminder, buttons[2][1])  # an old copy of the keyboard
    bridge.wait_until(lambda: reminder.edited == 2, what="the second edit")
    assert reminder.text.endswith("already recorded.")
    assert not bridge.unanswered()  # the consent and both presses: every query answered
    assert len(bridge.sent(CHAT)) == 3  # answered by edits, no new messages
    with session() as db:
        occ = db.get(DoseOccurrence, occ_id)
        assert occ is not None and occ.status == DoseStatus.taken
        assert occ.outcome_source == "button"


def test_snooze_button_defers_the_dose(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    occ_id = _due_now(patient)
    deliver_outbox()
    reminder = bridge.wait_for(CHAT, 3)[2]
    bridge.inject_callback(CHAT, reminder, reminder.buttons[1][1])
    bridge.wait_until(lambda: reminder.edited, what="the reminder edited")
    assert "remind you about Metformin 500 mg again in 15 minutes" in reminder.text
    assert _status(occ_id) == DoseStatus.snoozed


def test_a_dose_button_counts_even_when_its_query_is_too_old_to_answer(
        bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    occ_id = _due_now(patient)
    deliver_outbox()
    reminder = bridge.wait_for(CHAT, 3)[2]
    bridge.fail_next("answerCallbackQuery", 400, description="Bad Request: query is too old "
                     "and response timeout expired or query ID is invalid")
    bridge.inject_callback(CHAT, reminder, reminder.buttons[0][1])
    bridge.wait_until(lambda: reminder.edited, what="the reminder edited")
    assert _status(occ_id) == DoseStatus.taken


def test_a_button_of_another_patients_dose_changes_nothing(bridge: Emulator) -> None:
    ada, bob = _patient("Ada"), _patient("Bob")
    _enrol(bridge, ada)
    bobs = _due_now(bob)
    welcome = bridge.wait_for(CHAT, 2)[1]
    bridge.inject_callback(CHAT, welcome, f"dose:{bobs}:taken")  # a forged button
    bridge.wait_for_answers(2)
    _settle(bridge)
    assert _status(bobs) == DoseStatus.sent
    assert welcome.edited == 0 and len(bridge.sent(CHAT)) == 2


def test_text_goes_to_rasa_under_the_patients_opaque_id_and_buttons_come_back(
        fake_rasa: FakeRasa, bridge: Emulator) -> None:
    long_payload = '/confirm_dose_taken{"medication": "' + "Metformin extended release" * 3 + '"}'

    def answer(sender: str, message: str) -> list[dict[str, object]]:
        if message == "I took it":
            return [{"text": "Which one?", "buttons": [
                {"title": "Metformin", "payload": "/inform{\"medication\": \"metformin\"}"},
                {"title": "The long one", "payload": long_payload}]}]
        return [{"text": f"You said: {message}"}]

    fake_rasa.reply = answer
    patient = _patient()
    _enrol(bridge, patient)
    bridge.inject_text(CHAT, "I took it")
    question = bridge.wait_for(CHAT, 3)[2]
    assert question.text == "Which one?"
    [(_, short), (_, long)] = question.buttons
    assert short == 'r:/inform{"medication": "metformin"}' and long.startswith("k:")
    bridge.inject_callback(CHAT, question, long)
    assert bridge.wait_for(CHAT, 4)[3].text == f"You said: {long_payload}"
    assert question.buttons == []  # a choice is made once
    assert [sender for sender, _ in fake_rasa.received] == [patient.chat_ref] * 2
    assert str(CHAT) not in patient.chat_ref


def test_a_key_for_a_long_payload_works_only_in_its_own_chat(
        fake_rasa: FakeRasa, bridge: Emulator) -> None:
    fake_rasa.reply = lambda sender, message: [{"text": "Pick", "buttons": [
        {"title": "Long", "payload": "/x" + "y" * 80}]}]
    ada, bob = _patient("Ada"), _patient("Bob")
    _enrol(bridge, ada)
    _enrol(bridge, bob, chat=CHAT + 1)
    bridge.inject_text(CHAT, "hi")
    [(_, key)] = bridge.wait_for(CHAT, 3)[2].buttons
    bob_message = bridge.sent(CHAT + 1)[-1]
    bridge.inject_callback(CHAT + 1, bob_message, key)
    assert bridge.wait_for(CHAT + 1, 3)[2].text == bridge_mod.EXPIRED_CHOICE
    assert len(fake_rasa.received) == 1


def test_long_answers_are_split_with_the_buttons_on_the_last_part(
        fake_rasa: FakeRasa, bridge: Emulator) -> None:
    paragraph = ("Metformin lowers blood sugar. " * 40).strip()  # 3 paragraphs a part
    fake_rasa.reply = lambda sender, message: [{"text": "\n".join([paragraph] * 7), "buttons": [
        {"title": "More", "payload": "/more"}]}]
    _enrol(bridge, _patient())
    bridge.inject_text(CHAT, "tell me everything about metformin")
    parts = bridge.wait_for(CHAT, 5)[2:]
    assert [len(p.text) <= 4096 for p in parts] == [True, True, True]
    assert all(p.text.endswith("sugar.") for p in parts)  # cut at line ends
    assert [p.buttons for p in parts] == [[], [], [("More", "r:/more")]]
    times = [p.at for p in parts]
    assert times[1] - times[0] >= 0.09  # one chat is paced (0.1 s in tests)


def test_one_chats_messages_are_answered_in_order(fake_rasa: FakeRasa, bridge: Emulator) -> None:
    _enrol(bridge, _patient())
    for n in range(5):
        bridge.inject_text(CHAT, f"message {n}")
    answers = [m.text for m in bridge.wait_for(CHAT, 7)[2:]]
    assert answers == [f"You said: message {n}" for n in range(5)]


def test_rasa_down_gets_a_cant_answer_now_reply_within_5_seconds(bridge: Emulator) -> None:
    _enrol(bridge, _patient())
    started = time.monotonic()
    bridge.inject_text(CHAT, "what do I take today?")
    assert bridge.wait_for(CHAT, 3)[2].text == conversation.UNAVAILABLE
    assert time.monotonic() - started < 5


def test_a_hanging_rasa_gets_the_same_reply_after_the_rasa_timeout(
        telegram_emulator: Emulator, db_url: str, fake_rasa: FakeRasa,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The default timeout keeps the answer within 5 s; 1 s here keeps the test fast.
    assert Settings.model_fields["rasa_timeout_seconds"].default <= 4.5
    monkeypatch.setenv("CARELOOP_RASA_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    fake_rasa.delay = 3.0
    with Running(bridge_mod.run_bridge):
        _enrol(telegram_emulator, _patient())
        started = time.monotonic()
        telegram_emulator.inject_text(CHAT, "hello")
        answer = telegram_emulator.wait_for(CHAT, 3, timeout=6)[2]
        assert answer.text == conversation.UNAVAILABLE
        assert time.monotonic() - started < 2


def test_stickers_photos_voice_files_and_edits_get_a_polite_answer(bridge: Emulator) -> None:
    _enrol(bridge, _patient())
    bridge.inject_sticker(CHAT)
    bridge.inject_photo(CHAT)
    bridge.inject_voice(CHAT)
    bridge.inject_document(CHAT)
    bridge.inject_edited_message(CHAT, "changed my mind")
    texts = [m.text for m in bridge.wait_for(CHAT, 7)[2:]]
    assert texts == [bridge_mod.UNSUPPORTED] * 4 + [bridge_mod.EDITED]


def test_odd_and_huge_text_is_answered_without_a_crash(bridge: Emulator) -> None:
    _enrol(bridge, _patient())
    started = time.monotonic()
    bridge.inject_text(CHAT, "\u202e\u0000💊\ud7ff" * 3000)
    bridge.inject_text(CHAT, "/start " + "A" * 5000)
    answers = [m.text for m in bridge.wait_for(CHAT, 4)[2:]]
    assert answers == [conversation.UNAVAILABLE, enrolment.REFUSED]  # Rasa is down here
    assert time.monotonic() - started < 5


# --- unreachable chats -------------------------------------------------------------------

def _alerts() -> list[AlertKind]:
    with session() as db:
        return [a.kind for a in db.exec(select(Alert))]


def test_a_reply_refused_with_403_marks_the_chat_unreachable(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    with session() as db:
        db.add(OutboxMessage(patient_id=patient.id, kind=MessageKind.advice, text="tip"))
    bridge.block_chat(CHAT)
    bridge.inject_text(CHAT, "hello")
    bridge.wait_until(lambda: _alerts(), what="an alert")
    assert _alerts() == [AlertKind.unreachable]
    with session() as db:
        link = enrolment.link_of(db, patient.id)
        assert link is not None and link.unreachable_at is not None
        assert [m.status for m in db.exec(select(OutboxMessage))] == [OutboxStatus.dropped]


def test_blocking_the_bot_marks_the_chat_unreachable_at_once(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    bridge.inject_blocked(CHAT)
    bridge.wait_until(lambda: _alerts(), what="an alert")
    _due_now(patient)
    deliver_outbox(timeout=0.5)
    assert len(bridge.sent(CHAT)) == 2  # the reminder was not even tried
    assert _alerts() == [AlertKind.unreachable]


# --- webhook mode ------------------------------------------------------------------------

def test_webhook_mode_accepts_only_updates_carrying_the_secret(
        telegram_emulator: Emulator, db_url: str, rasa_down: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from tests.conftest import free_port

    port, secret = free_port(), "s3cret-token-of-sixteen+"
    monkeypatch.setenv("CARELOOP_WEBHOOK_URL", "https://careloop.example.org/hook")
    monkeypatch.setenv("CARELOOP_WEBHOOK_SECRET", secret)
    monkeypatch.setenv("CARELOOP_WEBHOOK_PORT", str(port))
    get_settings.cache_clear()
    update = {"update_id": 1, "message": {
        "message_id": 1, "date": int(time.time()), "text": "hello",
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "Pat"}}}
    with Running(bridge_mod.run_bridge):
        url = f"http://127.0.0.1:{port}/telegram"
        deadline = time.monotonic() + 15
        while True:
            try:
                forged = httpx.post(url, json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the webhook did not start"
                time.sleep(0.05)
        assert forged.status_code == 403
        genuine = httpx.post(url, json={**update, "update_id": 2},
                             headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        assert genuine.status_code == 200
        assert [m.text for m in telegram_emulator.wait_for(CHAT)] == [bridge_mod.JOIN]
        time.sleep(0.2)
        assert len(telegram_emulator.sent(CHAT)) == 1  # nothing for the forged one
        assert telegram_emulator.webhook["url"] == "https://careloop.example.org/hook/telegram"
        assert telegram_emulator.webhook["secret_token"] == secret
    assert "getUpdates" not in telegram_emulator.calls
