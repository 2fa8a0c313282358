"""Every module of ours stays small enough to read in one sitting and says what it is
for (migrations aside: they are a history, not code one reads)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p for folder in ("assistant", "actions", "scheduler", "rasa_components")
                 for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)
LONGEST = 300


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_is_short_and_says_what_it_is_for(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= LONGEST, f"{path.name}: split it by what it holds"
    if path.name != "__init__.py" or source.strip():
        assert ast.get_docstring(ast.parse(source)), f"{path.name}: no docstring"
