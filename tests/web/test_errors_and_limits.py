"""What the web application does with too much input and with its own failures: bodies
over the cap are refused (413) before they are read, a 422 does not echo what was sent,
and an unexpected error is a plain 500 whose log names the error and the route, never
the values (no SQL parameters, no health data)."""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from assistant.config import get_settings
from tests.web.conftest import Team, login

FIFTY_MB = 50 * 1024 * 1024


def _raw_request(base_url: str, head: str, body: bytes = b"") -> str:
    """Send a request's head (and the start of a body) on a socket; the answer's status
    line, which must come before the rest of the body is sent."""
    address = urlparse(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


def test_a_body_over_the_cap_is_refused_before_it_is_read(console_url: str) -> None:
    head = (f"POST /api/v1/patients HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {FIFTY_MB}\r\n")
    started = time.monotonic()
    status = _raw_request(console_url, head, b'{"display_name": "')
    assert status.startswith("HTTP/1.1 413"), status
    assert time.monotonic() - started < 5


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size


def test_a_streamed_body_is_counted_as_it_arrives(client: TestClient,
                                                  teams: tuple[Team, Team]) -> None:
    """No Content-Length (chunked upload): the count stops it at the cap, with or without
    a token."""
    cap = get_settings().max_body_bytes
    for headers in ({}, teams[0].admin.headers):
        answer = client.post("/api/v1/patients", content=_chunks(3 * cap),
                             headers={**headers, "Content-Type": "application/json"})
        assert answer.status_code == 413, answer.text
    login(client, teams[0].admin.email)
    form = client.post("/patients", content=_chunks(3 * cap),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 413


def test_a_body_within_the_cap_is_read(client: TestClient, teams: tuple[Team, Team]) -> None:
    cap = get_settings().max_body_bytes
    padded = '{"display_name": "Ada"' + " " * (cap - 100) + "}"
    answer = client.post("/api/v1/patients", content=padded, headers={
        **teams[0].admin.headers, "Content-Type": "application/json"})
    assert answer.status_code == 201, answer.text


def test_a_route_can_be_given_a_larger_cap() -> None:
    """How a later upload route allows more than the default: by its path template."""
    from assistant.interfaces.web.app import BodyLimit

    app = FastAPI()

    @app.post("/small")
    async def small(request: Request) -> int:
        return len(await request.body())

    @app.post("/uploads/{name}")
    async def upload(request: Request, name: str) -> int:
        return len(await request.body())

    app.add_middleware(BodyLimit, limit=1000, larger={"/uploads/{name}": 10_000})
    with TestClient(app) as client:
        assert client.post("/small", content=b"x" * 1000).json() == 1000
        assert client.post("/small", content=b"x" * 1001).status_code == 413
        assert client.post("/uploads/scan", content=b"x" * 5000).json() == 5000
        assert client.post("/uploads/scan", content=b"x" * 10_001).status_code == 413


def test_a_422_does_not_echo_the_input(client: TestClient, teams: tuple[Team, Team]) -> None:
    huge = "Ada" * 70_000
    answer = client.post("/api/v1/patients", headers=teams[0].admin.headers,
                         json={"display_name": huge, "timezone": huge})
    assert answer.status_code == 422
    assert len(answer.content) < 2000
    problems = answer.json()["detail"]
    assert {"display_name", "timezone"} <= {item["loc"][-1] for item in problems}
    for item in problems:
        assert set(item) == {"loc", "msg", "type"}, item


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):  # the test's own client
            self.lines.append(self.format(record))  # with the traceback, if any

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def server_log() -> Iterator[_Collected]:
    """Everything the web server logs, from INFO up, uvicorn's own loggers (which do not
    propagate to the root logger) included."""
    collected = _Collected()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.access")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(collected)
    logging.getLogger().setLevel(logging.INFO)
    try:
        yield collected
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(collected)
            logger.setLevel(level)


def _once_logged(log: _Collected, word: str) -> str:
    """The log once `word` is in it (a server may log an error after it has answered)."""
    deadline = time.monotonic() + 10
    while word not in log.text:
        assert time.monotonic() < deadline, f"{word!r} never logged"
        time.sleep(0.05)
    return log.text


def test_a_500_logs_neither_values_nor_parameters(console_url: str, teams: tuple[Team, Team],
                                                  server_log: _Collected) -> None:
    north, _ = teams
    # The database itself refuses the reading: a failure inside the database, mid-route.
    with sqlite3.connect(str(make_url(get_settings().db_url).database)) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON readings "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    answer = httpx.post(f"{console_url}/api/v1/patients/{north.patient_id}/readings",
                        headers=north.admin.headers,
                        json={"kind": "glucose", "value": 23.456, "source": "meter-7731"})
    assert answer.status_code == 500
    assert "23.456" not in answer.text and "INSERT" not in answer.text
    logged = _once_logged(server_log, "IntegrityError")
    for secret in ("23.456", "meter-7731", "[parameters", "Patient of North Clinic",
                   f"/patients/{north.patient_id}/"):
        assert secret not in logged, f"{secret!r} in the log"
    assert "/api/v1/patients/{patient_id}/readings" in logged


def test_a_console_500_is_a_plain_page(console_url: str, teams: tuple[Team, Team],
                                       server_log: _Collected) -> None:
    north, _ = teams
    with sqlite3.connect(str(make_url(get_settings().db_url).database)) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE UPDATE ON patients "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    with httpx.Client(base_url=console_url) as browser:
        page = browser.get("/login").text
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        browser.post("/login", data={"email": north.admin.email,
                                     "password": "correct horse battery", "csrf": csrf})
        csrf = browser.get("/patients").text.split('name="csrf" value="', 1)[1].split('"')[0]
        answer = browser.post(f"/patients/{north.patient_id}/profile", data={
            "csrf": csrf, "display_name": "Secret Name 9", "timezone": "UTC",
            "language": "en"})
    assert answer.status_code == 500
    assert "Secret Name 9" not in answer.text and "Traceback" not in answer.text
    assert "Secret Name 9" not in _once_logged(server_log, "IntegrityError")
