"""The bounded loader every package YAML and JSON goes through (core/safeload.py)."""

from __future__ import annotations

import pytest

from core import safeload
from core.safeload import MAX_DEPTH, DocumentError, load_json, load_yaml
from tests.fixtures.broken import ALIAS_BOMB


@pytest.fixture(autouse=True, params=["fastest", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test with libyaml's parser (when PyYAML has it) and with the pure-Python one."""
    if request.param == "pure":
        monkeypatch.setattr(safeload, "_Loader", safeload._PureLoader)


def test_ordinary_anchors_and_merge_keys_load_as_pyyaml_reads_them() -> None:
    doc = load_yaml("base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\ny: *b\nlist: [&v 1, *v]\n")
    assert doc == {"base": {"a": 1}, "x": {"a": 1, "c": 2}, "y": {"a": 1}, "list": [1, 1]}


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        (ALIAS_BOMB, "an alias bomb"),
        ("a: &a [*a]\n", "refers to the node it is in"),
        ("a: " + "[" * 200, f"nests deeper than {MAX_DEPTH} levels"),
        ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 200)), f"nests deeper than {MAX_DEPTH} levels"),
        ("a: [\n", "is not valid YAML at line 2"),
    ],
    ids=["alias-bomb", "alias-cycle", "deep-flow", "deep-block", "syntax"],
)
def test_hostile_yaml_is_refused(text: str, clause: str) -> None:
    with pytest.raises(DocumentError, match=clause):
        load_yaml(text)


def test_nesting_far_past_any_limit_is_refused_at_once() -> None:
    with pytest.raises(DocumentError):  # libyaml stops at its own limit; the pure scanner at ours
        load_yaml("a: " + "[" * 200_000)


def test_deep_aliases_count_towards_the_depth() -> None:
    levels = [f"l{i}: &l{i} [{'*l' + str(i - 1) if i else 1}]" for i in range(MAX_DEPTH + 2)]
    with pytest.raises(DocumentError, match="nests deeper"):
        load_yaml("\n".join(levels) + "\n")


def test_json_nesting_is_bounded() -> None:
    assert load_json('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    for text in ("[" * 100_000 + "]" * 100_000, "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)):
        with pytest.raises(DocumentError, match="nests deeper"):
            load_json(text)
    with pytest.raises(DocumentError, match="is not valid JSON"):
        load_json("{")
