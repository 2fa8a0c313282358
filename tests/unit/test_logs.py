"""Structured logs: with CARELOOP_LOG_FORMAT=json every line is a JSON object carrying the
trace id of the request or Telegram update it belongs to."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from assistant.interfaces.web.app import create_app
from assistant.interfaces.web.tracing import Traced
from assistant.logs import JsonLines, setup_logging


def _logging_app() -> Traced:
    async def hello(request: Request) -> PlainTextResponse:
        logging.getLogger("careloop.test").info("answered")
        return PlainTextResponse("ok")
    return Traced(Starlette(routes=[Route("/", hello)]))


def test_a_request_s_lines_carry_its_id_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", json_lines=True)
    try:
        with TestClient(_logging_app()) as client:
            given = client.get("/", headers={"X-Request-ID": "lb-7f3a"})
            made = client.get("/", headers={"X-Request-ID": "<script>"})
    finally:
        setup_logging("INFO")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    answered = [line for line in lines if line["message"] == "answered"]
    assert given.headers["X-Request-ID"] == "lb-7f3a"
    assert made.headers["X-Request-ID"].startswith("req-")  # not the caller's markup
    assert [line["trace"] for line in answered] == ["lb-7f3a", made.headers["X-Request-ID"]]
    assert {"at", "level", "logger"} <= set(answered[0])


def test_an_error_s_traceback_stays_inside_its_one_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None,
                                   exc_info=sys.exc_info())
    line = JsonLines().format(record)
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["error"]


def test_the_console_answers_with_a_request_id(db_url: str) -> None:
    with TestClient(create_app()) as client:
        assert client.get("/login").headers["X-Request-ID"].startswith("req-")
