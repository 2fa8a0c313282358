"""The assistant understands patients: the training data validates, intents are
recognised (macro-F1 ≥ 0.92 on held-out messages and in 5-fold cross-validation), and
the conversation tests pass with no prediction error."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from assistant.config import PROJECT_DIR, Settings
from assistant.conversation.rasa_engine import quiet_env

pytestmark = pytest.mark.rasa

MIN_MACRO_F1 = 0.92
CONTRACT = (  # DESIGN.md's intents: these names, at least
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help",
    "confirm_dose_taken", "skip_dose", "snooze_reminder", "ask_schedule", "ask_medication_info",
    "ask_adherence", "log_measurement", "report_symptom", "request_advice", "emergency",
    "ask_care_team", "pause_reminders", "resume_reminders", "change_reminder_time",
    "out_of_scope",
)
INTENTS = tuple(yaml.safe_load((PROJECT_DIR / "dialogue" / "domain.yml").read_text())["intents"])
DATA = ["--config", "config.yml", "--domain", "dialogue/domain.yml"]


def rasa(rasa_cli: Path, repo_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(rasa_cli), *args], cwd=repo_root, env=quiet_env(Settings()),
                          capture_output=True, text=True, check=False, timeout=1200)


def assert_macro_f1(done: subprocess.CompletedProcess[str], report_dir: Path, what: str) -> None:
    """`rasa test nlu` succeeded and its intent macro-F1 is at least MIN_MACRO_F1."""
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((report_dir / "intent_report.json").read_text())
    f1 = report["macro avg"]["f1-score"]
    worst = ", ".join(f"{k} {f:.2f}" for f, k in sorted(
        (v["f1-score"], k) for k, v in report.items() if isinstance(v, dict) and k in INTENTS)[:4])
    print(f"{what} intent macro-F1: {f1:.3f} (weakest: {worst})")
    assert f1 >= MIN_MACRO_F1, f"{what} macro-F1 {f1:.3f}; weakest: {worst}"


def examples(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in yaml.safe_load(path.read_text()).get("nlu", []):
        if "intent" in item:
            lines = [re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line[2:]).strip().lower()
                     for line in item["examples"].splitlines() if line.startswith("- ")]
            found.setdefault(item["intent"], []).extend(lines)
    return found


def test_the_domain_has_every_intent_of_the_contract() -> None:
    assert set(CONTRACT) - set(INTENTS) == set()


def test_training_data_validates_without_warnings(rasa_cli: Path, repo_root: Path) -> None:
    done = rasa(rasa_cli, repo_root, "data", "validate", *DATA, "--data", "nlu_data",
                "dialogue/rules.yml", "--fail-on-warnings")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_heldout_file_shares_no_example_with_training_data(repo_root: Path) -> None:
    training: dict[str, list[str]] = {}
    for path in sorted((repo_root / "nlu_data").glob("*.yml")):
        for intent, texts in examples(path).items():
            training.setdefault(intent, []).extend(texts)
    heldout = examples(repo_root / "tests" / "rasa_data" / "nlu_heldout.yml")
    seen = {text for texts in training.values() for text in texts}
    assert [t for texts in heldout.values() for t in texts if t in seen] == []
    assert {i for i in INTENTS if len(training.get(i, [])) < 25} == set()
    assert {i for i in INTENTS if len(heldout.get(i, [])) < 8} == set()


def test_heldout_intent_macro_f1_at_least_0_92(rasa_cli: Path, repo_root: Path,
                                               trained_model: Path, tmp_path: Path) -> None:
    done = rasa(rasa_cli, repo_root, "test", "nlu", "--config", "config.yml", "--nlu",
                "tests/rasa_data/nlu_heldout.yml", "--model", str(trained_model),
                "--out", str(tmp_path))
    assert_macro_f1(done, tmp_path, "held-out")


def test_cross_validated_intent_macro_f1_at_least_0_92(rasa_cli: Path, repo_root: Path,
                                                       tmp_path: Path) -> None:
    done = rasa(rasa_cli, repo_root, "test", "nlu", "--config", "config.yml", "--nlu", "nlu_data",
                "--cross-validation", "--folds", "5", "--out", str(tmp_path))
    assert_macro_f1(done, tmp_path, "5-fold cross-validated")


def test_conversation_stories_pass(rasa_cli: Path, repo_root: Path, trained_model: Path,
                                   tmp_path: Path) -> None:
    done = rasa(rasa_cli, repo_root, "test", "core", "--stories",
                "tests/rasa_data/test_stories.yml", "--model", str(trained_model),
                "--fail-on-prediction-errors", "--out", str(tmp_path))
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else done.stdout[-3000:]
    assert done.returncode == 0, details
