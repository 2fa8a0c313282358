"""Strict JSON bodies: any document JSON allows reads as Python's `json` reads it; one bad
value put anywhere in it is refused at exactly its place."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.interfaces.web.jsonbody import loads

SCALARS = (st.none() | st.booleans() | st.integers() | st.text()
           | st.floats(allow_nan=False, allow_infinity=False))
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                         max_leaves=20)
# What Python's json reads but JSON does not allow, as it is written in a body.
BAD = ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "9" * 5000, '"\\ud800"',
       '"x\\udfffy"', '"\\ude00\\ud83d"']


@settings(max_examples=200, deadline=None)
@given(DOCUMENTS)
def test_what_json_allows_reads_as_json_reads_it(document: Any) -> None:
    body = json.dumps(document, ensure_ascii=False).encode()
    assert loads(body) == json.loads(body)


def _places(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place a value sits in `document`."""
    found = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _places(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _places(value, (*path, index))
    return found


@settings(max_examples=200, deadline=None)
@given(DOCUMENTS, st.data())
def test_a_bad_value_anywhere_is_refused_at_its_place(document: Any, data: st.DataObject
                                                      ) -> None:
    path = data.draw(st.sampled_from(_places(document)))
    bad = data.draw(st.sampled_from(BAD))
    marker = "\u0000bad\u0000"
    if path:
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = marker
    else:
        document = marker
    body = json.dumps(document).replace(json.dumps(marker), bad).encode()
    with pytest.raises(RequestValidationError) as refused:
        loads(body)
    [error] = refused.value.errors()
    assert error["loc"] == ("body", *path)
    assert "input" not in error  # never sent back: it cannot be
    json.dumps(refused.value.errors(), allow_nan=False).encode("utf-8")  # the answer can be


@pytest.mark.parametrize(("body", "loc"), [
    (b'{"name": "Ada \xff"}', ("body", "name")),
    (b'{"\xed\xa0\x80": 1}', ("body", "\\udced\\udca0\\udc80")),
    (b'{"a": [1, 2,]}', ("body", 12)),
    (b"\xef\xbb\xbf{}", ("body", 0)),  # a byte-order mark: RFC 8259 JSON has none
])
def test_bytes_not_utf8_and_syntax_errors_are_placed(body: bytes, loc: tuple[Any, ...]) -> None:
    with pytest.raises(RequestValidationError) as refused:
        loads(body)
    assert refused.value.errors()[0]["loc"] == loc


@pytest.mark.parametrize("body", [
    b'{"face": "\\ud83d\\ude00"}',      # an escaped surrogate pair: one character
    b'{"path": "C:\\\\ud800"}',         # an escaped backslash, then "ud800": plain text
    b'{"mixed": ["\\u00e9", 1.5e3, -0.0, 12345678901234567890]}',
])
def test_escapes_and_numbers_json_allows_read_as_json_reads_them(body: bytes) -> None:
    assert loads(body) == json.loads(body)
