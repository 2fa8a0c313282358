"""Two care teams, each with an admin and a clinician who have passwords and API tokens,
and the care-team web application over a fresh database."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi.testclient import TestClient

from assistant.domain.schedule_specs import ScheduleSpec
from assistant.interfaces.web.app import create_app
from assistant.services import accounts as auth
from assistant.services import medications, patients, sessions
from assistant.services.teams import add_member, add_team
from assistant.storage.db import session
from assistant.storage.models import Role

PASSWORD = "correct horse battery"
PASSWORD_HASH = auth.hash_password(PASSWORD)  # argon2 is slow on purpose: hash it once


@dataclass
class Member:
    id: int
    email: str
    token: str
    team_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Team:
    id: int
    admin: Member
    clinician: Member
    patient_id: int
    medication_id: int


def _team(name: str) -> Team:
    with session() as db:
        team = add_team(db, name=name, actor="test")
        members = []
        for role in (Role.admin, Role.clinician):
            email = f"{role}@{name.lower().replace(' ', '')}.example"
            member = add_member(db, team=team, name=f"{name} {role}", email=email,
                                         role=role, password_hash=PASSWORD_HASH,
                                         actor="test")
            token = sessions.issue_token(db, member, name="tests", actor="test")
            members.append(Member(member.id, email, token, team.id))
        patient = patients.add_patient(db, team=team, name=f"Patient of {name}",
                                       timezone="Europe/Berlin", actor="test")
        med = medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                      schedule=ScheduleSpec(times=("08:00", "20:00")),
                                      actor="test")
        return Team(team.id, members[0], members[1], patient.id, med.id)


@pytest.fixture
def teams(db_url: str) -> tuple[Team, Team]:
    return _team("North Clinic"), _team("South Clinic")


@pytest.fixture
def client(teams: tuple[Team, Team]) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def console_url(teams: tuple[Team, Team]) -> Iterator[str]:
    """The web application served by uvicorn on a free port, for a real browser."""
    from tests.conftest import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the new session's CSRF token."""
    answer = client.post("/login", data={"email": email, "password": password,
                                         "csrf": csrf_of(client.get("/login").text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/patients").text)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


