"""No sentence a patient or the care team reads is written in the code of the actions,
the channels, the scheduling or the services that speak: they come from the catalog
(`assistant/texts/`), so that the wording can be reviewed, and translated, in one file.

The check walks the code's syntax tree and fails on any string literal that reads like
prose (two words or more), except docstrings, log messages, regular expressions, errors
no patient or team member reads, and the short allow-list below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

CHECKED = [
    "actions",
    "assistant/channels",
    "assistant/scheduling",
    "assistant/services/reminders.py",
    "assistant/services/enrolment.py",
    "assistant/services/doses.py",
    "assistant/services/alerts.py",
    "assistant/services/replies.py",
    "assistant/services/readings.py",
    "assistant/services/monitoring.py",
    "assistant/services/targets.py",
    "assistant/services/advice.py",
    "assistant/domain/safety.py",
    "assistant/conversation/chat.py",
]
# Errors raised with text of their own that no patient reads (the API's and the CLI's
# messages, internal failures). EnrolmentRefused is read in the chat: not here.
UNREAD_ERRORS = {"InvalidInput", "NotFound", "RuntimeError", "RetryLater", "RasaUnavailable",
                 "ValueError", "TypeError", "KeyError", "NotImplementedError"}
LOGGERS = {"log", "logger", "logging"}
# (file, text): words that are not said to anyone, with why.
ALLOWED = {
    # the outbox row's `last_error` of a dropped message: for operators, not sent
    ("assistant/services/enrolment.py", "chat unlinked"),
    ("assistant/services/enrolment.py", "chat unreachable"),
    # the Bot API's own words in an error it returns, matched
    ("assistant/channels/telegram/sender.py", "chat not found"),
    # a red-flag pattern of the emergency guard (the others are regular expressions)
    ("assistant/domain/safety.py", "heart attack"),
}
# Two words apart: "Take it", "due at", "Noted: taken". Not ids ("dose.taken").
PROSE = re.compile(r"[A-Za-z]{2,}[,;:!?.'’)\"]?\s+[(\"'‘]?[A-Za-z]{2,}")
REGEX = re.compile(r"\\[bswd]|\(\?[:!=<]|\[\^")


def _files() -> list[Path]:
    found: list[Path] = []
    for name in CHECKED:
        path = REPO / name
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return found


def _literal(node: ast.Constant | ast.JoinedStr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    return "".join(str(part.value) if isinstance(part, ast.Constant) else "{}"
                   for part in node.values)


def _skipped(node: ast.AST) -> bool:
    """Subtrees whose strings are not said to a patient or the team."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return func.value.id in LOGGERS | {"re"}
        return False
    if isinstance(node, ast.Raise) and node.exc is not None:
        call = node.exc
        name = call.func if isinstance(call, ast.Call) else call
        return isinstance(name, ast.Name) and name.id in UNREAD_ERRORS or (
            isinstance(name, ast.Attribute) and name.attr in UNREAD_ERRORS)
    return False


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def hardcoded_sentences(path: Path, root: Path = REPO) -> list[str]:
    """`file:line: text` of each literal in `path` that reads like prose."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = _docstrings(tree)
    relative = path.relative_to(root).as_posix()
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if _skipped(node):
            return
        literal = isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str))
        if literal and id(node) not in docstrings:
            assert isinstance(node, ast.Constant | ast.JoinedStr)
            text = _literal(node)
            if PROSE.search(text) and not REGEX.search(text) and (relative, text) not in ALLOWED:
                found.append(f"{relative}:{node.lineno}: {text!r}")
            return  # an f-string's parts and format specs are part of it
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_no_sentence_is_written_in_the_code() -> None:
    found = [line for path in _files() for line in hardcoded_sentences(path)]
    assert not found, "sentences belong in assistant/texts/ (texts.t):\n" + "\n".join(found)


def test_the_check_finds_a_sentence_and_passes_what_is_not_one(tmp_path: Path) -> None:
    """The checker itself: a sentence is found, in a call, a constant or an f-string;
    log messages, docstrings, regular expressions and message ids are not."""
    sample = tmp_path / "sample.py"
    sample.write_text('"""A docstring with words."""\n'
                      'import re\n'
                      'X = "Your dose is due"\n'
                      'def f(name):\n'
                      '    """Words."""\n'
                      '    log.info("sent a reminder to %s", name)\n'
                      '    re.search(r"\\bchest pain", name)\n'
                      '    say(t("reminder.due", name=name))\n'
                      '    say(f"Hello {name}, you are welcome")\n'
                      '    raise RuntimeError("no updater at all")\n')
    found = hardcoded_sentences(sample, tmp_path)
    assert [line.split(": ", 1)[1] for line in found] == ["'Your dose is due'",
                                                         "'Hello {}, you are welcome'"]
