"""The Rasa engine, driven from outside: training (cached by a hash of its data), the
server's endpoint files, and the command lines of the Rasa and action servers.

Nothing here imports `rasa`: the engine lives in its own Python 3.10 environment.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from assistant.config import Settings, private_dir
from assistant.storage.tracker import tracker_store

TRAINING_INPUTS = ("config.yml", "nlu_data", "dialogue", "rasa_components",
                   "requirements/rasa.lock")
RESPONSE_SECONDS = 10  # Rasa gives up on a message after this (and frees its lock)
# A message's lock in the lock store outlives it unless its Rasa server dies first: then
# the conversation waits this long on the other servers (Rasa's default: 60 s).
LOCK_SECONDS = RESPONSE_SECONDS + 5


class EngineError(RuntimeError):
    """The Rasa engine environment is missing or training failed."""


def rasa_executable(settings: Settings) -> Path:
    rasa = settings.rasa_engine_dir / "bin" / "rasa"
    if not rasa.exists():
        raise EngineError(f"no Rasa engine at {rasa}: run ./careloop (it installs it)")
    return rasa


def quiet_env(settings: Settings) -> dict[str, str]:
    """Environment for engine subprocesses: less TensorFlow and SQLAlchemy noise, Rasa's
    training cache in the data directory rather than the working directory, and the
    lifetime of a message's lock (`LOCK_SECONDS`)."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(settings.project_dir),  # rasa_components/
            "RASA_CACHE_DIRECTORY": str((settings.data_dir / "rasa-cache").resolve()),
            "TICKET_LOCK_LIFETIME": str(LOCK_SECONDS)}


def training_hash(project_dir: Path) -> str:
    """A digest of everything the model is trained from: same inputs, same model."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        root = project_dir / name
        files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       ) if root.is_dir() else [root]
        for path in files:
            digest.update(str(path.relative_to(project_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(settings: Settings, models_dir: Path | None = None) -> Path:
    folder = models_dir or settings.models_dir
    return folder / f"careloop-{training_hash(settings.project_dir)}.tar.gz"


def train(settings: Settings, models_dir: Path | None = None, force: bool = False) -> Path:
    """The model for the current training data, training it only when it is missing."""
    target = model_path(settings, models_dir)
    if target.exists() and not force:
        return target
    if models_dir is None:
        private_dir(settings.data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    # One training at a time (the demo and the tests, two test workers): the second waits,
    # then finds the first one's model.
    with (target.parent / ".training.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and not force:
            return target
        _train(settings, target)
    return target


def _train(settings: Settings, target: Path) -> None:
    project = settings.project_dir
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        command = [str(rasa_executable(settings)), "train", "--config", "config.yml",
                   "--domain", "dialogue/domain.yml", "--data", "nlu_data", "dialogue/rules.yml",
                   "--out", tmp, "--fixed-model-name", "model"]
        done = subprocess.run(command, cwd=project, env=quiet_env(settings),
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise EngineError(f"rasa train failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        # Rename into place: a crash mid-training never leaves a half-written model.
        os.replace(Path(tmp) / "model.tar.gz", target)


def write_endpoints(settings: Settings) -> tuple[Path, Path]:
    """endpoints.yml and credentials.yml for `rasa run`, under the data directory."""
    private_dir(settings.data_dir)
    folder = private_dir(settings.data_dir / "rasa")  # endpoints.yml holds the DB password
    endpoints: dict[str, object] = {
        "action_endpoint": {"url": settings.action_endpoint},
        "tracker_store": tracker_store(settings),
    }
    if settings.redis_url:
        redis = make_url(settings.redis_url)
        endpoints["lock_store"] = {"type": "redis", "url": redis.host, "port": redis.port or 6379,
                                   "password": redis.password, "db": int(redis.database or 0)}
    paths = folder / "endpoints.yml", folder / "credentials.yml"
    for path, content in zip(paths, (endpoints, {"rest": None}), strict=True):
        path.write_text(yaml.safe_dump(content))
        path.chmod(0o600)  # may hold the database password
    return paths


def rasa_command(settings: Settings, model: Path) -> list[str]:
    endpoints, credentials = write_endpoints(settings)
    url = make_url(settings.rasa_url)
    python = rasa_executable(settings).parent / "python"  # `rasa`, minus the noise:
    command = [str(python), "-m", "rasa_components.launcher", "run", "--enable-api",
               "-i", settings.rasa_host, "-p", str(url.port or 5005), "--model", str(model),
               "--endpoints", str(endpoints), "--credentials", str(credentials),
               "--response-timeout", str(RESPONSE_SECONDS)]
    # The HTTP API is always behind a token; a random one when none is configured. Joined
    # to its option with "=": a token starting with "-" (one random token in 64) would
    # otherwise be read by argparse as an option, and `rasa run` would refuse to start.
    token = settings.rasa_token.get_secret_value() or secrets.token_urlsafe(24)
    return [*command, f"--auth-token={token}"]


def action_server_command(settings: Settings) -> list[str]:
    # Its endpoints file only says "no tracing"; without it, rasa_sdk logs an ERROR. Its
    # INFO lines (a line per action registered) are for debugging.
    endpoints, _ = write_endpoints(settings)
    return [sys.executable, "-m", "actions.server", "--actions", "actions",
            "-p", str(settings.action_port), "--endpoints", str(endpoints),
            "-v" if settings.log_level == "DEBUG" else "--quiet"]


def action_server_env(settings: Settings) -> dict[str, str]:
    # This project's `actions` and `assistant`, whatever the working directory (an
    # installed copy of the package would be found first otherwise).
    return {**os.environ, "SANIC_HOST": settings.action_host,  # rasa_sdk's bind address
            "PYTHONPATH": str(settings.project_dir)}


def action_health_url(settings: Settings) -> str:
    """The action server's health check, on the address it listens on (loopback when it
    listens on every address)."""
    address = ipaddress.ip_address(settings.action_host)
    host = "127.0.0.1" if address.is_unspecified else (
        f"[{address}]" if address.version == 6 else str(address))
    return f"http://{host}:{settings.action_port}/health"
