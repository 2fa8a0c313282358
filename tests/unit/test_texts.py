"""The catalog of texts: every id the code asks for exists with the placeholders it is
given, every text of the catalog is used somewhere (no dead wording), and a wrong id or
placeholder is an error here rather than in a patient's chat."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from assistant import texts
from tests.conftest import REPO

CODE = [REPO / "assistant", REPO / "actions", REPO / "scheduler"]


def _code() -> list[Path]:
    return [path for root in CODE for path in sorted(root.rglob("*.py"))
            if "migrations" not in path.parts]


def _calls_of_t(tree: ast.AST) -> list[ast.Call]:
    """Calls of `texts.t(...)` or `t(...)`."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        isinstance(node.func, ast.Attribute) and node.func.attr == "t"
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "texts"
        or isinstance(node.func, ast.Name) and node.func.id == "t")]


def _domain_ids() -> list[str]:
    domain = yaml.safe_load((REPO / "dialogue" / "domain.yml").read_text())
    said = [item for variants in domain["responses"].values() for item in variants]
    return [value.removeprefix(texts.PREFIX)
            for item in said for value in [item.get("text", ""),
                                           *(b.get("title", "") for b in item.get("buttons", []))]
            if value.startswith(texts.PREFIX)]


def test_every_id_the_code_asks_for_is_in_the_catalog_with_its_placeholders() -> None:
    catalog = texts.catalog()
    wrong = []
    for path in _code():
        for call in _calls_of_t(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(REPO)}:{call.lineno}"
            if not call.args or not isinstance(call.args[0], ast.Constant):
                continue  # an id held in a table (MARK, COMMAND_TEXT): checked as used below
            msgid = call.args[0].value
            if msgid not in catalog:
                wrong.append(f"{where}: no {msgid!r} in the catalog")
                continue
            given = {kw.arg for kw in call.keywords if kw.arg not in (None, "language")}
            wanted = texts.placeholders(catalog[msgid])
            if given != wanted:
                wrong.append(f"{where}: {msgid!r} takes {sorted(wanted)}, given {sorted(given)}")
    assert not wrong, "\n".join(wrong)


def test_every_response_of_the_rasa_domain_is_a_catalog_id_without_placeholders() -> None:
    domain = yaml.safe_load((REPO / "dialogue" / "domain.yml").read_text())
    ids = _domain_ids()
    assert len(ids) == sum(len(variants) for variants in domain["responses"].values()) == 8
    for msgid in ids:
        assert texts.placeholders(texts.catalog()[msgid]) == set(), msgid
        assert texts.render(texts.PREFIX + msgid) == texts.t(msgid)


def test_every_text_of_the_catalog_is_used() -> None:
    used = set(_domain_ids())
    for path in _code():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.add(node.value)
    dead = sorted(set(texts.catalog()) - used)
    assert not dead, f"texts no code uses (remove them, or use them): {dead}"


def test_every_text_renders_and_its_placeholders_are_plain_names() -> None:
    for msgid, text in texts.catalog().items():
        names = texts.placeholders(text)
        assert all(re.fullmatch(r"[a-z_]+", name) for name in names), (msgid, names)
        assert texts.t(msgid, **dict.fromkeys(names, "X")).count("{") == 0, msgid


def test_each_id_is_written_once_in_the_catalog() -> None:
    ids = re.findall(r'^msgid "(.+)"$', texts.catalog_path().read_text(), re.MULTILINE)
    assert len(ids) == len(set(ids)) == len(texts.catalog())


def test_a_wrong_id_or_placeholder_is_an_error() -> None:
    assert texts.t("reminder.button.snooze", minutes=15) == "⏰ Snooze 15 min"
    with pytest.raises(texts.TextError, match="no text 'reminder.missing'"):
        texts.t("reminder.missing")
    with pytest.raises(texts.TextError, match=r"\['minutes'\]"):
        texts.t("reminder.button.snooze")
    with pytest.raises(texts.TextError, match="given"):
        texts.t("reminder.button.skip", minutes=15)


def test_render_gives_a_catalog_text_for_an_id_and_other_text_as_it_is() -> None:
    assert texts.render("msg:conversation.ok") == "OK."
    assert texts.render("Your doses today:") == "Your doses today:"
    with pytest.raises(texts.TextError):
        texts.render("msg:conversation.nothing")
