"""`careloop run` and its children: any Rasa token starts the engine, the children die
with the supervisor however it dies, the bridge stops promptly, the output is quiet."""

from __future__ import annotations

import httpx
import pytest

from assistant import engine
from assistant.settings import Settings, get_settings
from tests.conftest import RASA_TOKEN


@pytest.mark.parametrize("token", ["-starts-with-a-dash", "--two-dashes", "plain_token-1"])
def test_the_rasa_token_is_passed_as_one_argument_whatever_it_looks_like(
        token: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("CARELOOP_RASA_TOKEN", token)
    get_settings.cache_clear()
    command = engine.rasa_command(get_settings(), engine.model_path(get_settings()))
    assert command[-1] == f"--auth-token={token}"
    assert token not in command[:-1]


def test_a_random_rasa_token_starting_with_a_dash_is_passed_as_one_argument(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.secrets, "token_urlsafe", lambda n: "-Yq3" + "x" * 28)
    command = engine.rasa_command(Settings(), engine.model_path(Settings()))
    assert command[-1] == "--auth-token=-Yq3" + "x" * 28


@pytest.mark.rasa
def test_rasa_starts_with_a_token_like_an_option_and_refuses_calls_without_it(
        rasa_stack: Settings) -> None:
    assert rasa_stack.rasa_token.get_secret_value() == RASA_TOKEN  # the stack started with it
    status = f"{rasa_stack.rasa_url}/status"
    assert httpx.get(status).status_code == 401
    assert httpx.get(status, params={"token": "wrong"}).status_code == 401
    answer = httpx.get(status, params={"token": RASA_TOKEN})
    assert answer.status_code == 200 and answer.json()["model_file"].endswith(".tar.gz")
