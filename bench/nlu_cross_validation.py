"""Benchmark: 5-fold cross-validation of intent classification (issue target: macro-F1
≥ 0.92), beside the held-out test of the full model measured in the same run.

    .venv/bin/python -m bench.nlu_cross_validation [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from assistant import engine
from assistant.settings import PROJECT_DIR, Settings


def macro_f1(folder: Path) -> float:
    report = json.loads((folder / "intent_report.json").read_text())
    return float(report["macro avg"]["f1-score"])


def rasa(*args: str) -> None:
    settings = Settings()
    subprocess.run([str(engine.rasa_executable(settings)), *args], cwd=PROJECT_DIR,
                   env=engine.quiet_env(settings), check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    folds = parser.parse_args().folds
    model = engine.train(Settings(), models_dir=PROJECT_DIR / "var" / "models")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        rasa("test", "nlu", "--config", "config.yml", "--nlu", "tests/rasa_data/nlu_heldout.yml",
             "--model", str(model), "--out", f"{tmp}/heldout")
        print(f"held-out macro-F1 (full model): {macro_f1(Path(tmp, 'heldout')):.3f}  "
              f"({time.monotonic() - started:.0f} s)")
        started = time.monotonic()
        rasa("test", "nlu", "--config", "config.yml", "--nlu", "nlu_data", "--cross-validation",
             "--folds", str(folds), "--out", f"{tmp}/cv")
        f1 = macro_f1(Path(tmp, "cv"))
        print(f"{folds}-fold cross-validation macro-F1: {f1:.3f} (target ≥ 0.92: "
              f"{'met' if f1 >= 0.92 else 'NOT met'})  ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
