"""Console access: argon2 passwords, login throttling, expiring sessions, CSRF on every
form, deactivated members, logout; and the CLI that sets passwords and issues tokens."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import itsdangerous
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.db import session
from assistant.models import AuditEntry, TeamMember
from assistant.settings import get_settings
from assistant.web.auth import ADDRESS_FACTOR, secret_key
from tests.web.conftest import PASSWORD, Team, csrf_of, login


def _post_login(client: TestClient, email: str, password: str) -> int:
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf": csrf_of(client.get("/login").text)},
                       follow_redirects=False).status_code


def test_passwords_are_argon2_hashes(teams: tuple[Team, Team]) -> None:
    with session() as db:
        member = db.get(TeamMember, teams[0].clinician.id)
        assert member and member.password_hash and member.password_hash.startswith("$argon2id$")


def test_pages_need_a_login_and_logout_ends_the_session(client: TestClient,
                                                        teams: tuple[Team, Team]) -> None:
    first = client.get("/patients/1", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/patients/1"
    csrf = login(client, teams[0].clinician.email)
    assert client.get("/patients").status_code == 200
    client.post("/logout", data={"csrf": csrf})
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_a_form_without_the_csrf_token_changes_nothing(client: TestClient,
                                                       teams: tuple[Team, Team]) -> None:
    login(client, teams[0].clinician.email)
    for form in ({}, {"csrf": "forged"}):
        answer = client.post("/patients", data={"display_name": "Mallory", "timezone": "UTC",
                                                **form})
        assert answer.status_code == 403
    assert "Mallory" not in client.get("/patients").text


def test_wrong_passwords_are_throttled_per_email(client: TestClient,
                                                 teams: tuple[Team, Team]) -> None:
    email = teams[0].clinician.email
    limit = get_settings().login_failures_per_hour
    for _ in range(limit):
        assert _post_login(client, email, "guess guess guess") == 401
    # now even the right password is refused for an hour, without being checked ...
    assert _post_login(client, email, PASSWORD) == 429
    # ... while colleagues behind the same clinic address can still log in
    assert _post_login(client, teams[1].clinician.email, PASSWORD) == 303


def test_guessing_across_many_emails_is_throttled_per_address(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    limit = get_settings().login_failures_per_hour * ADDRESS_FACTOR
    for n in range(limit):
        assert _post_login(client, f"guess{n}@example.org", "guess guess guess") == 401
    assert _post_login(client, teams[1].clinician.email, PASSWORD) == 429
    with session() as db:
        logins = db.exec(select(AuditEntry).where(AuditEntry.action == "member.login")).all()
    assert logins == []


def test_an_unknown_email_is_answered_like_a_wrong_password(client: TestClient,
                                                            teams: tuple[Team, Team]) -> None:
    assert _post_login(client, "nobody@example.org", PASSWORD) == 401
    assert _post_login(client, teams[0].clinician.email, "wrong password!") == 401


def _forged_session(member_id: int, age_seconds: int) -> str:
    """A session cookie as the console signs it, made `age_seconds` ago."""
    payload = base64.b64encode(json.dumps({"member_id": member_id}).encode())

    class Past(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - age_seconds

    signer = Past(secret_key(get_settings()))
    return signer.sign(payload).decode()


def test_sessions_expire(client: TestClient, teams: tuple[Team, Team]) -> None:
    lifetime = get_settings().session_minutes * 60
    member = teams[0].clinician.id
    client.cookies.set("careloop_session", _forged_session(member, 60))
    assert client.get("/patients", follow_redirects=False).status_code == 200
    client.cookies.clear()
    client.cookies.set("careloop_session", _forged_session(member, lifetime + 60))
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_a_deactivated_member_is_logged_out(client: TestClient,
                                            teams: tuple[Team, Team]) -> None:
    north, _ = teams
    login(client, north.clinician.email)
    with TestClient(client.app, base_url="http://127.0.0.1") as admin:
        csrf = login(admin, north.admin.email)
        admin.post(f"/settings/members/{north.clinician.id}/deactivate", data={"csrf": csrf})
    assert client.get("/patients", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/patients", headers=north.clinician.headers).status_code == 401


def test_clinicians_cannot_open_admin_pages(client: TestClient,
                                            teams: tuple[Team, Team]) -> None:
    login(client, teams[0].clinician.email)
    assert client.get("/settings").status_code == 403
    assert client.get("/audit").status_code == 403


def test_the_audit_log_exports_as_csv(client: TestClient, teams: tuple[Team, Team]) -> None:
    login(client, teams[0].admin.email)
    client.get(f"/patients/{teams[0].patient_id}")
    exported = client.get("/audit?format=csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"patient.view,{teams[0].patient_id}" in exported.text
    assert "South" not in exported.text and f",{teams[1].patient_id}," not in exported.text


@pytest.mark.parametrize("password", ["short", ""])
def test_the_cli_refuses_a_short_password(db_url: str, teams: tuple[Team, Team],
                                          password: str) -> None:
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "member", "password",
                           teams[0].clinician.email], input=f"{password}\n{password}\n",
                          capture_output=True, text=True)
    assert done.returncode != 0


def test_the_cli_sets_passwords_and_issues_tokens(client: TestClient,
                                                  teams: tuple[Team, Team]) -> None:
    email = teams[0].clinician.email
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "member", "password", email],
                          input="a brand new passphrase\na brand new passphrase\n",
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _post_login(client, email, "a brand new passphrase") == 303
    token = subprocess.run([sys.executable, "-m", "assistant.cli", "member", "token", email,
                            "--name", "EHR"], capture_output=True, text=True, check=True)
    answer = client.get("/api/v1/patients",
                        headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    assert answer.status_code == 200
    unknown = subprocess.run([sys.executable, "-m", "assistant.cli", "member", "token",
                              "nobody@example.org"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "no member" in unknown.stderr
