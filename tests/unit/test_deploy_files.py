"""The deployment files in deploy/ say what CareLoop really has: every CARELOOP_* variable
they set is a setting (and the example's values pass its checks), every `--only NAME` is a
service, every health check asks a path on the port the service serves, the images install
exactly the lock files the tests use, Rasa's endpoint file and command line mirror what
`careloop run --only rasa` writes, and the systemd units pass `systemd-analyze verify`.

No image is built and no container started here (no Docker daemon on the test machines):
this is what can be proved without them."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.conversation import rasa_engine
from assistant.interfaces import probes, supervisor
from assistant.interfaces.web.app import create_app
from tests.conftest import REPO, reset_caches

DEPLOY = REPO / "deploy"
HEALTH_URL = re.compile(r"^http://127\.0\.0\.1:(\d+)(/\S*)$")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]  # type: ignore[no-any-return]


def _example_env() -> dict[str, str]:
    lines = (DEPLOY / "careloop.env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): value.strip() for name, value in pairs}


def _role(service: dict[str, Any]) -> str:
    """Which CareLoop service a container runs."""
    command = service.get("command") or []
    if "--only" in command:
        return str(command[command.index("--only") + 1])
    if command[:4] == ["python", "-m", "assistant", "db"]:
        return "migrate"
    return str(service["image"]).split(":")[0].removeprefix("careloop-")  # rasa, postgres, ...


def _is_setting(name: str) -> bool:
    return name.removeprefix("CARELOOP_").lower() in Settings.model_fields


def test_every_careloop_variable_is_a_setting() -> None:
    named = set(_example_env())
    for service in _services().values():
        named |= set(service.get("environment") or {})
    unit = (DEPLOY / "systemd" / "careloop@.service").read_text()
    for line in re.findall(r"^Environment=(.+)$", unit, re.M):
        named |= {item.split("=")[0] for item in shlex.split(line)}
    assert "CARELOOP_DATA_DIR" in named
    unknown = sorted(name for name in named if name.startswith("CARELOOP_")
                     and not _is_setting(name))
    assert not unknown, f"not settings of assistant/config.py: {unknown}"


def test_each_app_container_starts_with_valid_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's values and each container's own pass the settings' checks (a webhook
    secret long enough, a token of the right shape, URLs)."""
    for name, service in _services().items():
        if service.get("env_file") != "careloop.env" or _role(service) == "rasa":
            continue
        env = {**_example_env(), **(service.get("environment") or {})}
        with monkeypatch.context() as patch:
            for key, value in env.items():
                if key.startswith("CARELOOP_"):
                    patch.setenv(key, str(value))
            settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.environment == "production", name
        assert settings.db_url.startswith("postgresql://"), name
    reset_caches()


def test_compose_holds_no_secret_inline() -> None:
    secret = re.compile(r"TOKEN|SECRET|PASSWORD|_KEY$|DATABASE_URL")
    for name, service in _services().items():
        for key, value in (service.get("environment") or {}).items():
            if secret.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), f"{name}: {key} inline"


def test_compose_interpolates_only_what_the_env_file_defines() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", text))
    assert used and used <= set(_example_env()), used - set(_example_env())


def test_every_service_named_is_one_careloop_runs() -> None:
    roles = {_role(service) for service in _services().values()}
    assert {"scheduler", "sender", "bridge", "web", "actions", "rasa"} <= roles
    for service in _services().values():
        command = service.get("command") or []
        if "--only" in command:
            assert command[command.index("--only") + 1] in supervisor.SERVICES
    target = (DEPLOY / "systemd" / "careloop.target").read_text()
    wants = re.search(r"^Wants=(.+)$", target, re.M)
    assert wants
    instances = re.findall(r"careloop@(\w+)\.service", wants[1])
    # One machine's scheduler sends itself: a sender is for schedulers that plan only.
    assert sorted(instances) == sorted(set(supervisor.SERVICES) - {"sender"})
    unit = (DEPLOY / "systemd" / "careloop@.service").read_text()
    assert re.search(r"^ExecStart=\S+ -m assistant run --only %i$", unit, re.M)


def _serves(app: Any, path: str) -> bool:
    with TestClient(app) as client:
        return bool(client.get(path).status_code != 404)


def test_each_health_check_asks_a_path_its_service_serves(db_url: str) -> None:
    checked = set()
    for name, service in _services().items():
        if "healthcheck" not in service or _role(service) in {"postgres", "redis"}:
            continue
        test = service["healthcheck"]["test"]
        found = HEALTH_URL.match(test[-1])
        assert found, f"{name}: the health check's last argument is no local URL: {test}"
        port, path = int(found[1]), found[2]
        role, env = _role(service), service.get("environment") or {}
        if role in ("scheduler", "sender", "bridge"):
            assert port == int(env[f"CARELOOP_{role.upper()}_METRICS_PORT"]), name
            assert _serves(probes.app(probes.scheduler_readiness(Settings())), path), name
        elif role == "web":
            assert port == int(env["CARELOOP_WEB_PORT"]) and _serves(create_app(), path), name
        elif role == "actions":
            assert port == int(env["CARELOOP_ACTION_PORT"]), name
            sdk = find_spec("rasa_sdk")  # its source, read without importing Sanic
            assert sdk and sdk.origin
            endpoint = Path(sdk.origin).parent / "endpoint.py"
            assert path == "/health" and '@app.get("/health")' in endpoint.read_text(), name
        elif role == "rasa":  # Rasa answers `/` once its model is loaded (as RasaClient.ready)
            assert (port, path) == (5005, "/"), name
            assert "-p 5005" in (DEPLOY / "rasa" / "run.sh").read_text()
        checked.add(role)
    assert checked == {"scheduler", "sender", "bridge", "web", "actions", "rasa"}


def test_the_proxy_picks_bridges_by_their_liveness() -> None:
    caddy = (DEPLOY / "Caddyfile").read_text()
    bridges = {name: service for name, service in _services().items()
               if _role(service) == "bridge"}
    assert len(bridges) == 2
    for name, service in bridges.items():
        env = service["environment"]
        assert f"{name}:{env['CARELOOP_WEBHOOK_PORT']}" in caddy
        assert f"health_port {env['CARELOOP_BRIDGE_METRICS_PORT']}" in caddy
    assert "health_uri /healthz" in caddy
    webhook = urlsplit(_example_env()["CARELOOP_WEBHOOK_URL"])
    assert webhook.scheme == "https" and webhook.hostname == _example_env()["PUBLIC_HOST"]


def _dockerfile(name: str) -> str:
    return (DEPLOY / name).read_text()


def test_the_images_install_exactly_the_locks_the_tests_use() -> None:
    bootstrap = (REPO / "scripts" / "bootstrap.sh").read_text()
    uv = re.search(r'UV_VERSION="([^"]+)"', bootstrap)
    assert uv
    locks = sorted(path.name for path in (REPO / "requirements").glob("*.lock"))
    installed = []
    for dockerfile, lock in (("Dockerfile", "app.lock"), ("Dockerfile.rasa", "rasa.lock")):
        text = _dockerfile(dockerfile)
        named = set(re.findall(r"requirements/(\w+\.lock)", text))
        assert named == {lock}, dockerfile
        installed.append(lock)
        assert re.search(rf"uv pip sync [^\n]*(\\\n[^\n]*)*requirements/{lock}", text)
        assert f"pip install uv=={uv[1]}" in text, f"{dockerfile}: not bootstrap's uv"
        # The image's Python is the one the lock was compiled for.
        source = REPO / "requirements" / lock
        compiled = source.read_text() + source.with_suffix(".in").read_text() if (
            source.with_suffix(".in").exists()) else source.read_text()
        python = re.search(r"(?:-p |Python )(3\.\d+)", compiled)
        assert python and re.search(rf"^FROM python:{python[1]}-slim", text, re.M), dockerfile
        assert re.search(r"^USER (?!root)\w+", text, re.M), f"{dockerfile} runs as root"
    assert sorted(installed) == locks


def test_the_app_image_holds_every_package_and_runs_the_console() -> None:
    text = _dockerfile("Dockerfile")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    for package in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert f"COPY {package.rstrip('*')} " in text, package
    assert "--no-deps /src" in text
    cmd = re.findall(r"^CMD (.+)$", text, re.M)[-1]
    assert yaml.safe_load(cmd) == ["python", "-m", "assistant", "run", "--only", "web"]


def test_the_rasa_image_trains_from_every_training_input() -> None:
    text = _dockerfile("Dockerfile.rasa")
    for name in rasa_engine.TRAINING_INPUTS:
        assert re.search(rf"^COPY {re.escape(name)} ", text, re.M), name
    assert "rasa train --config config.yml --domain dialogue/domain.yml" in text


def _endpoints_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _endpoints_shape(item) for key, item in value.items()}
    return None


def test_rasa_in_compose_runs_as_careloop_runs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/rasa's endpoints and `rasa run` options are those `careloop run --only rasa`
    writes (for PostgreSQL and Redis), listening on every interface of the container."""
    (tmp_path / "engine" / "bin").mkdir(parents=True)
    (tmp_path / "engine" / "bin" / "rasa").touch()
    monkeypatch.setenv("CARELOOP_RASA_ENGINE_DIR", str(tmp_path / "engine"))
    monkeypatch.setenv("CARELOOP_DATABASE_URL", "postgresql://u:p@db:5432/careloop")
    monkeypatch.setenv("CARELOOP_REDIS_URL", "redis://redis:6379/0")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    ours = rasa_engine.rasa_command(settings, tmp_path / "model.tar.gz")
    written = yaml.safe_load(rasa_engine.write_endpoints(settings)[0].read_text())
    deployed = yaml.safe_load((DEPLOY / "rasa" / "endpoints.yml").read_text())
    assert _endpoints_shape(deployed) == _endpoints_shape(written)
    rasa = next(s for s in _services().values() if _role(s) == "rasa")
    given = {**_example_env(), **rasa["environment"]}
    values = "\n".join(line for line in (DEPLOY / "rasa" / "endpoints.yml").read_text()
                       .splitlines() if not line.startswith("#"))
    needed = set(re.findall(r"\$\{(\w+)\}", values))
    assert needed <= set(given), needed - set(given)

    script = (DEPLOY / "rasa" / "run.sh").read_text().replace("\\\n", " ")
    line = next(line for line in script.splitlines() if line.startswith("exec "))
    theirs = shlex.split(line)

    def options(command: list[str]) -> list[str]:
        return [item.split("=")[0] for item in command if item.startswith("-")]

    assert options(theirs) == options(ours)
    assert ours[ours.index("-i") + 1] == "127.0.0.1" and theirs[theirs.index("-i") + 1] == "0.0.0.0"
    assert theirs[theirs.index("run") - 1] == ours[ours.index("run") - 1] == (
        "rasa_components.launcher")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    for unit in (DEPLOY / "systemd").iterdir():
        # The deployed path of the interpreter does not exist here: point at this one.
        text = unit.read_text().replace("/opt/careloop/.venv/bin/python", sys.executable)
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           str(tmp_path / "careloop@web.service"),
                           str(tmp_path / "careloop.target")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), (
        done.stdout + done.stderr)
