"""Console access: argon2 passwords that are not trivial, login throttling (atomic, per
email and address, with backoff), server-side sessions that logout, a password change or
deactivation end, CSRF on every form; and the CLI that sets passwords and issues tokens."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta

import httpx
import itsdangerous
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.config import get_settings
from assistant.errors import InvalidInput, TooManyAttempts
from assistant.interfaces.supervisor import services
from assistant.services import accounts as auth
from assistant.services import teams
from assistant.services.accounts import ADDRESS_FACTOR
from assistant.storage.db import session
from assistant.storage.keys import secret_key
from assistant.storage.models import AuditEntry, ConsoleSession, LoginAttempt, Role, TeamMember
from tests.conftest import free_port
from tests.web.conftest import PASSWORD, PASSWORD_HASH, Team, csrf_of, login

NEW_PASSWORD = "violet kettle of northern tea"


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
    # now even the right password is refused from here for a while, without being checked ...
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


def _forged_session(member_id: int) -> str:
    """A session cookie as the console signs it, naming a member but no server session."""
    payload = base64.b64encode(json.dumps({"member_id": member_id, "sid": "forged"}).encode())
    return itsdangerous.TimestampSigner(secret_key(get_settings())).sign(payload).decode()


def test_a_signed_cookie_is_not_a_session(client: TestClient, teams: tuple[Team, Team]) -> None:
    client.cookies.set("careloop_session", _forged_session(teams[0].clinician.id))
    assert client.get("/patients", follow_redirects=False).status_code == 303


def _age_sessions(*, idle: timedelta = timedelta(0), old: timedelta = timedelta(0)) -> None:
    with session() as db:
        for row in db.exec(select(ConsoleSession)):
            row.last_seen_at -= idle
            row.created_at -= old
            row.expires_at -= old


def test_sessions_end_after_the_idle_time(client: TestClient, teams: tuple[Team, Team]) -> None:
    idle = timedelta(minutes=get_settings().session_minutes)
    login(client, teams[0].clinician.email)
    _age_sessions(idle=idle - timedelta(minutes=2))
    assert client.get("/patients", follow_redirects=False).status_code == 200  # renewed ...
    _age_sessions(idle=idle - timedelta(minutes=2))
    assert client.get("/patients", follow_redirects=False).status_code == 200
    _age_sessions(idle=idle + timedelta(minutes=1))  # ... until it is left unused too long
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_sessions_end_after_the_maximum_lifetime_however_busy(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    lifetime = timedelta(hours=get_settings().session_max_hours)
    login(client, teams[0].clinician.email)
    _age_sessions(old=lifetime - timedelta(minutes=1))
    assert client.get("/patients", follow_redirects=False).status_code == 200
    _age_sessions(old=timedelta(minutes=2))
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_a_copied_session_cookie_stops_working_at_logout(client: TestClient,
                                                         teams: tuple[Team, Team]) -> None:
    csrf = login(client, teams[0].clinician.email)
    with TestClient(client.app, base_url="http://127.0.0.1") as thief:
        thief.cookies.set("careloop_session", client.cookies["careloop_session"])
        assert thief.get("/patients", follow_redirects=False).status_code == 200
        client.post("/logout", data={"csrf": csrf})
        ended = thief.get("/patients", follow_redirects=False)
        assert ended.status_code == 303
        # not renewed: deleted
        assert ended.headers["set-cookie"].startswith("careloop_session=null;")
        assert "expires=Thu, 01 Jan 1970" in ended.headers["set-cookie"]


def _change_password(client: TestClient, csrf: str, current: str, new: str,
                     repeat: str | None = None) -> httpx.Response:
    return client.post("/account/password", data={
        "csrf": csrf, "current": current, "password": new, "repeat": repeat or new})


def test_a_password_change_ends_the_members_other_sessions(client: TestClient,
                                                           teams: tuple[Team, Team]) -> None:
    email = teams[0].clinician.email
    csrf = login(client, email)
    with TestClient(client.app, base_url="http://127.0.0.1") as other:
        login(other, email)
        answer = _change_password(client, csrf, PASSWORD, NEW_PASSWORD)
        assert answer.status_code == 200 and "Password changed" in answer.text
        assert other.get("/patients", follow_redirects=False).status_code == 303
    assert client.get("/patients", follow_redirects=False).status_code == 200  # this one stays
    assert _post_login(client, email, PASSWORD) == 401
    assert _post_login(client, email, NEW_PASSWORD) == 303


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    csrf = login(client, teams[0].clinician.email)
    wrong = _change_password(client, csrf, "not my password", NEW_PASSWORD)
    assert "Not saved: current password: wrong password" in wrong.text
    weak = _change_password(client, csrf, PASSWORD, "1111111111")
    assert "Not saved: password: " in weak.text and "repeat" in weak.text.lower()
    typo = _change_password(client, csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert "Not saved: the two new passwords differ" in typo.text
    assert _post_login(client, teams[0].clinician.email, PASSWORD) == 303


def test_the_cli_password_change_ends_every_session(client: TestClient,
                                                    teams: tuple[Team, Team]) -> None:
    email = teams[0].clinician.email
    login(client, email)
    subprocess.run([sys.executable, "-m", "assistant", "member", "password", email],
                   input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n", capture_output=True, text=True,
                   check=True)
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_a_deactivated_member_is_logged_out(client: TestClient,
                                            teams: tuple[Team, Team]) -> None:
    north, _ = teams
    login(client, north.clinician.email)
    with TestClient(client.app, base_url="http://127.0.0.1") as admin:
        csrf = login(admin, north.admin.email)
        admin.post(f"/settings/members/{north.clinician.id}/deactivate", data={"csrf": csrf})
    assert client.get("/patients", follow_redirects=False).status_code == 303
    with session() as db:
        rows = db.exec(select(ConsoleSession).where(
            ConsoleSession.member_id == north.clinician.id)).all()
        assert rows and all(row.revoked_at is not None for row in rows)
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
    done = subprocess.run([sys.executable, "-m", "assistant", "member", "password",
                           teams[0].clinician.email], input=f"{password}\n{password}\n",
                          capture_output=True, text=True)
    assert done.returncode != 0


@pytest.mark.parametrize(("password", "why"), [
    ("1111111111", "Repeats"), (" " * 10, "Repeats"), ("password1234", "common"),
    ("qwertyuiop12", "common"), ("abcdefghijkl", "Sequences")])
def test_common_and_trivial_passwords_are_refused_saying_why(
        db_url: str, teams: tuple[Team, Team], password: str, why: str) -> None:
    done = subprocess.run([sys.executable, "-m", "assistant", "member", "password",
                           teams[0].clinician.email], input=f"{password}\n{password}\n",
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "error: password: too easy to guess" in done.stderr and why in done.stderr
    assert "a few unrelated words" in done.stderr  # what to do instead


def test_a_password_made_of_the_members_own_name_or_email_is_refused(
        db_url: str, teams: tuple[Team, Team]) -> None:
    with session() as db:
        member = db.get(TeamMember, teams[0].clinician.id)
        assert member is not None
        with pytest.raises(InvalidInput, match="too easy to guess"):
            auth.set_password(db, member, member.email, actor="test")


def test_adding_a_member_does_not_reveal_another_teams_email(client: TestClient,
                                                             teams: tuple[Team, Team]) -> None:
    north, south = teams
    csrf = login(client, north.admin.email)

    def add(email: str) -> str:
        answer = client.post("/settings/members", data={
            "csrf": csrf, "name": "Sam", "email": email, "password": NEW_PASSWORD})
        if answer.status_code == 422:  # the form again, as typed, the error at the email
            error = re.search(r'<a href="#member-email">([^<]*)<', answer.text)
            assert error and 'id="member-name" name="name" value="Sam"' in answer.text
            return "Not saved: " + error.group(1).replace(email, "EMAIL")
        flash = re.search(r'role="status">([^<]*)<', answer.text)
        assert answer.status_code == 200 and flash, answer.text
        return flash.group(1).replace(email, "EMAIL")

    mine, theirs = add(north.clinician.email), add(south.clinician.email)
    assert mine == theirs and mine.startswith("Not saved")
    assert "South" not in theirs and "team" not in theirs.lower()
    assert add("sam@north.example") == "Sam can now log in."


def test_the_cli_sets_passwords_and_issues_tokens(client: TestClient,
                                                  teams: tuple[Team, Team]) -> None:
    email = teams[0].clinician.email
    done = subprocess.run([sys.executable, "-m", "assistant", "member", "password", email],
                          input="a brand new passphrase\na brand new passphrase\n",
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _post_login(client, email, "a brand new passphrase") == 303
    token = subprocess.run([sys.executable, "-m", "assistant", "member", "token", email,
                            "--name", "EHR"], capture_output=True, text=True, check=True)
    answer = client.get("/api/v1/patients",
                        headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    assert answer.status_code == 200
    unknown = subprocess.run([sys.executable, "-m", "assistant", "member", "token",
                              "nobody@example.org"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "no member" in unknown.stderr


# Throttling: atomic, per email and address, with backoff ---------------------------------

def _nurse(email: str = "nurse@ward.example") -> str:
    with session() as db:
        team = teams.add_team(db, name="Ward", actor="test")
        teams.add_member(db, team=team, name="Nurse", email=email, role=Role.clinician,
                            password_hash=PASSWORD_HASH, actor="test")
    return email


def _try(email: str, password: str, address: str) -> str:
    """One login through `auth.login` in its own unit of work: ok, wrong or refused."""
    with session() as db:
        try:
            member = auth.login(db, get_settings(), email=email, password=password,
                                address=address)
        except TooManyAttempts:
            return "refused"
    return "wrong" if member is None else "ok"


def test_parallel_wrong_passwords_are_checked_no_more_often_than_the_limit(
        any_db_url: str) -> None:
    email, limit = _nurse(), get_settings().login_failures_per_hour
    start = threading.Barrier(40)
    outcomes: list[str] = []

    def guess() -> None:
        start.wait()
        outcomes.append(_try(email, "wrong guess number one", "203.0.113.7"))

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused"] * (40 - limit) + ["wrong"] * limit


def test_the_attacker_is_locked_out_not_the_nurse(any_db_url: str) -> None:
    email, limit = _nurse(), get_settings().login_failures_per_hour
    for _ in range(limit):
        assert _try(email, "wrong guess number one", "203.0.113.7") == "wrong"
    assert _try(email, PASSWORD, "203.0.113.7") == "refused"
    assert _try(email, PASSWORD, "198.51.100.20") == "ok"  # the nurse, at the ward's PC
    assert _try(email, PASSWORD, "203.0.113.7") == "refused"  # still locked out


def _age_attempts(by: timedelta) -> None:
    with session() as db:
        for row in db.exec(select(LoginAttempt)):
            row.at -= by


def test_each_failure_after_the_limit_doubles_the_wait(db_url: str) -> None:
    email, limit = _nurse(), get_settings().login_failures_per_hour
    address = "203.0.113.7"
    for _ in range(limit):
        assert _try(email, "wrong guess number one", address) == "wrong"
    for wait in (1, 2, 4, 8):
        _age_attempts(timedelta(minutes=wait) - timedelta(seconds=5))
        assert _try(email, "wrong guess number one", address) == "refused", wait
        _age_attempts(timedelta(seconds=10))
        assert _try(email, "wrong guess number one", address) == "wrong", wait
    _age_attempts(timedelta(minutes=16) + timedelta(seconds=5))
    assert _try(email, PASSWORD, address) == "ok"
    assert _try(email, "wrong guess number one", address) == "wrong"  # a success starts over


def test_a_refusal_says_how_long_to_wait(client: TestClient, teams: tuple[Team, Team]) -> None:
    email = teams[0].clinician.email
    for _ in range(get_settings().login_failures_per_hour):
        _post_login(client, email, "guess guess guess")
    answer = client.post("/login", data={"email": email, "password": PASSWORD,
                                         "csrf": csrf_of(client.get("/login").text)})
    assert answer.status_code == 429
    assert "try again in 1 minute" in answer.text


def _web(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """The console as `careloop run` serves it (uvicorn's command line), on a free port."""
    port = free_port()
    env = {**os.environ, **env, "CARELOOP_WEB_PORT": str(port)}
    get_settings.cache_clear()
    [web] = services(get_settings().model_copy(update={"web_port": port}), ("web",))
    server = subprocess.Popen(web.command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/healthz")
            return server, url
        except httpx.TransportError:
            assert server.poll() is None and time.monotonic() < deadline, "web did not start"
            time.sleep(0.1)


def _spraying(url: str, attempts: int) -> int:
    """Wrong passwords for many emails, each claiming another address; the status of the
    attempt after `attempts` of them."""
    with httpx.Client(base_url=url) as browser:
        def post(n: int) -> int:
            csrf = csrf_of(browser.get("/login").text)
            return browser.post("/login", headers={"X-Forwarded-For": f"203.0.113.{n}"}, data={
                "email": f"guess{n}@example.org", "password": "guess guess guess",
                "csrf": csrf}).status_code
        for n in range(attempts):
            assert post(n) == 401
        return post(attempts)


@pytest.mark.parametrize("trusted", [False, True])
def test_x_forwarded_for_counts_only_from_a_configured_proxy(
        teams: tuple[Team, Team], trusted: bool) -> None:
    env = {"CARELOOP_LOGIN_FAILURES_PER_HOUR": "2"}
    if trusted:
        env["CARELOOP_TRUSTED_PROXIES"] = "127.0.0.1"
    server, url = _web(env)
    try:
        status = _spraying(url, 2 * ADDRESS_FACTOR)
    finally:
        server.terminate()
        server.wait(10)
    # Behind the proxy each address is itself; without one, the header names nobody and
    # all the guesses come from this one address.
    assert status == (401 if trusted else 429)
