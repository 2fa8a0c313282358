"""What the browser is told: a Content-Security-Policy without inline code, no framing,
and no copy of a page or an API answer about patients kept in any cache."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
from fastapi.testclient import TestClient

from tests.web.conftest import Team, login


def _policy(answer: httpx.Response) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in
                  answer.headers["content-security-policy"].split(";") if part.strip())
    return {name: value for name, value in directives}


def _assert_private(answer: httpx.Response) -> None:
    assert "no-store" in answer.headers["cache-control"], answer.url
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    policy = _policy(answer)
    assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    assert policy["object-src"] == "'none'" and policy["form-action"] == "'self'"


def test_console_pages_allow_no_inline_code_no_framing_and_no_caching(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    _assert_private(client.get("/login"))
    login(client, north.admin.email)
    for path in ("/patients", f"/patients/{north.patient_id}", f"/patients/{north.patient_id}"
                 "/export", "/alerts", "/advice", "/settings", "/tokens", "/audit",
                 "/audit?format=csv", "/patients/999999"):
        answer = client.get(path)
        assert answer.status_code in (200, 404), path
        _assert_private(answer)
    enrolled = client.post(f"/patients/{north.patient_id}/enrol",
                           data={"csrf": login(client, north.admin.email)})
    assert enrolled.status_code == 200 and "<svg" in enrolled.text  # the QR code, inline SVG
    _assert_private(enrolled)


def test_api_answers_about_patients_are_not_cached(client: TestClient,
                                                   teams: tuple[Team, Team]) -> None:
    north, _ = teams
    for path in ("/api/v1/patients", f"/api/v1/patients/{north.patient_id}",
                 f"/api/v1/patients/{north.patient_id}/readings", "/api/v1/alerts",
                 f"/api/v1/patients/{north.patient_id}/export", "/api/v1/audit"):
        answer = client.get(path, headers=north.admin.headers)
        assert answer.status_code == 200, path
        _assert_private(answer)
    _assert_private(client.get("/api/v1/patients"))  # 401 too


def test_the_stylesheet_may_be_cached(client: TestClient, teams: tuple[Team, Team]) -> None:
    answer = client.get("/static/style.css")
    assert answer.status_code == 200 and "no-store" not in answer.headers.get("cache-control", "")


def test_the_api_docs_may_run_only_their_own_inline_script(client: TestClient) -> None:
    answer = client.get("/api/docs")
    [script] = re.findall(r"<script>(.*?)</script>", answer.text, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    allowed = _policy(answer)["script-src"].split()
    assert f"'sha256-{digest}'" in allowed and not any("unsafe" in s for s in allowed)
    assert _policy(answer)["frame-ancestors"] == "'none'"
