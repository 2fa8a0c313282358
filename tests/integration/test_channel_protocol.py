"""A channel is one class behind `channels.base.Channel` plus one line in the registry.

A channel of our own making (it records what it sends: no transport) runs the whole
patient flow: how to join, the enrolment link, the consent notice, a reminder delivered
by the scheduler service through its outbox drain with buttons, the button pressed and
recorded, the assistant's own choices, /stop. The Rasa server is faked with httpx's
MockTransport: the conversation itself is tested with the real one elsewhere."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from assistant.channels import registry
from assistant.channels.base import Channel, drain_outbox
from assistant.channels.flow import Flow
from assistant.config import Settings, get_settings
from assistant.conversation.rasa_client import RasaClient
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.interfaces import supervisor
from assistant.interfaces.cli import app
from assistant.services import enrolment, medications, patients, teams
from assistant.services.outbox import Buttons, Recorded
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    DoseOccurrence,
    DoseStatus,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
)
from assistant.texts import t
from tests.telegram_fixtures import Running

CHAT, STRANGER = "pat-1", "pat-2"


@dataclass(frozen=True)
class Sent:
    id: int
    chat_id: str
    text: str
    buttons: Buttons


class Recorder:
    """A channel that keeps what it sends."""

    name = "recorder"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sent: list[Sent] = []
        self._ids = itertools.count(500)

    async def send(self, chat_id: str, text: str, buttons: Buttons, *,
                   recorded: Recorded | None = None) -> int:
        self.sent.append(Sent(next(self._ids), chat_id, text, buttons))
        return self.sent[-1].id

    def deep_link(self, code: str) -> str:
        return f"recorder://careloop/join?code={code}"

    async def serve(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def drain(self, stop: asyncio.Event) -> None:
        await drain_outbox(self, self.settings, stop)

    def to(self, chat_id: str) -> list[Sent]:
        return [sent for sent in self.sent if sent.chat_id == chat_id]


@pytest.fixture
def recorder(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """The recorder registered (the one line a new channel adds) and enabled."""
    monkeypatch.setenv("CARELOOP_SCHEDULER_TICK_SECONDS", "0.2")
    get_settings.cache_clear()
    channel = Recorder(get_settings())
    monkeypatch.setattr(registry, "CHANNELS",
                        [registry.Entry(lambda settings: channel, lambda settings: True)])
    yield channel


def fake_rasa(heard: list[str]) -> RasaClient:
    """Rasa's REST channel: a question with a choice, and an answer to the choice."""

    def answer(request: httpx.Request) -> httpx.Response:
        message = json.loads(request.content)["message"]
        heard.append(message)
        if message.startswith("/"):
            return httpx.Response(200, json=[{"text": "In the morning: Metformin 500 mg."}])
        return httpx.Response(200, json=[{"text": "Which part of the day?", "buttons": [
            {"title": "Morning", "payload": '/ask_schedule{"part": "morning"}'}]}])

    return RasaClient("http://rasa.invalid", 4.0, transport=httpx.MockTransport(answer))


def _patient() -> Patient:
    with session() as db:
        team = teams.add_team(db, name="Ward 5", actor="test")
        patient = patients.add_patient(db, team=team, name="Ada", timezone="Europe/Berlin",
                                       actor="test")
        patients.update_profile(db, patient, {"advice_per_day": 0}, actor="test")
        medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                   actor="test", schedule=ScheduleSpec(times=("08:00",)))
        return patient


def _dose_due_now(patient: Patient) -> int:
    with session() as db:
        [(med, row)] = medications.medications(db, patient.id)
        assert row is not None
        occ = DoseOccurrence(schedule_id=row.id, medication_id=med.id, patient_id=patient.id,
                             due_at=utcnow().replace(microsecond=0))
        db.add(occ)
        db.flush()
        return occ.id


async def _until(found: Callable[[], object], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def test_the_recorder_is_a_channel() -> None:
    channel: Channel = Recorder(Settings())  # mypy checks what this line claims
    assert channel.deep_link("ABC") == "recorder://careloop/join?code=ABC"


def test_enrolment_links_come_from_the_registered_channel(recorder: Recorder) -> None:
    patient = _patient()
    result = CliRunner().invoke(app, ["enrol", str(patient.id)])
    assert result.exit_code == 0, result.output
    assert "link: recorder://careloop/join?code=" in result.output
    assert "t.me" not in result.output


async def test_a_channel_of_our_own_runs_the_whole_patient_flow(recorder: Recorder) -> None:
    heard: list[str] = []
    flow = Flow(recorder, fake_rasa(heard), snooze_minutes=15)
    patient = _patient()

    await flow.text(CHAT, "what do I take today?")  # not linked yet: how to join
    assert [s.text for s in recorder.to(CHAT)] == [t("join.hello")] and heard == []

    with session() as db:
        code = enrolment.issue_code(db, patient=patient, actor="test", hours=1).code
    assert registry.enrolment_link(get_settings(), code) == recorder.deep_link(code)
    await flow.message(CHAT, f"/start {code}")
    notice = recorder.to(CHAT)[-1]
    assert notice.text == t("join.consent")
    [[agree, _]] = notice.buttons
    await flow.consent(CHAT, agree["data"])
    assert recorder.to(CHAT)[-1].text.startswith("You're all set, Ada")
    with session() as db:
        link = enrolment.link_of(db, patient.id)
        assert link is not None and (link.channel, link.chat_id) == (recorder.name, CHAT)

    # The scheduler service, as the supervisor composes it, delivers through the channel.
    occurrence = _dose_due_now(patient)
    with Running(supervisor.scheduler):
        await _until(lambda: any("Time for your Metformin" in s.text
                                 for s in recorder.to(CHAT)), "no reminder was delivered")
    reminder = recorder.to(CHAT)[-1]
    assert "💊 Time for your Metformin 500 mg" in reminder.text
    assert [b["text"] for b in reminder.buttons[0]] == ["✅ Taken", "⏰ Snooze 15 min", "Skip"]
    with session() as db:
        [row] = db.exec(select(OutboxMessage).where(
            OutboxMessage.kind == MessageKind.reminder)).all()
        assert row.status == OutboxStatus.sent and row.channel == recorder.name
        assert row.channel_message_id == reminder.id

    taken = reminder.buttons[0][0]["data"]
    assert await flow.dose_button(STRANGER, taken) is None  # not that chat's dose
    assert await flow.dose_button(CHAT, taken) == "✅ Noted: Metformin 500 mg taken. Well done!"
    with session() as db:
        occ = db.get(DoseOccurrence, occurrence)
        assert occ is not None and occ.status == DoseStatus.taken
        assert occ.outcome_source == "button"

    await flow.text(CHAT, "when do I take it?")  # the assistant answers with a choice
    question = recorder.to(CHAT)[-1]
    assert question.text == "Which part of the day?"
    [[morning]] = question.buttons
    await flow.rasa_button(CHAT, morning["data"])
    assert heard[-1] == '/ask_schedule{"part": "morning"}'
    assert recorder.to(CHAT)[-1].text == "In the morning: Metformin 500 mg."

    await flow.message(CHAT, "/stop")
    assert recorder.to(CHAT)[-1].text == t("join.stopped")
    await flow.text(CHAT, "hello?")
    assert recorder.to(CHAT)[-1].text == t("join.hello")
    await flow.rasa.aclose()
