"""Bounded parsing of untrusted YAML and JSON (package content, chart files, configs).

Every YAML and JSON document that comes from a package goes through here, so no file can
hang a run or crash it with a ``RecursionError``:

* nesting deeper than :data:`MAX_DEPTH` is refused (counted through aliases too);
* YAML aliases may not expand the document past :data:`ALIAS_FLOOR` nodes and
  :data:`ALIAS_RATIO` times the nodes written (a "billion laughs" of 6 KB expands to 10^9);
* an alias that refers to its own anchor (a cycle) is refused.

YAML is parsed by libyaml when PyYAML has it (several times faster) and composed by PyYAML's
composer in Python, where the limits are kept; without libyaml the pure-Python parser is used.

Problems are :class:`DocumentError`, whose text is a clause to follow the file's name
("is not valid YAML (...)", "nests deeper than 64 levels", ...); the caller names the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

MAX_DEPTH = 64
ALIAS_FLOOR = 100_000
ALIAS_RATIO = 10

T = TypeVar("T")


class DocumentError(ValueError):
    """A document that cannot be used; ``str()`` is a clause such as ``is not valid YAML at line 3 (...)``."""


class TooDeep(DocumentError):
    """A document nesting deeper than :data:`MAX_DEPTH` levels."""


def _too_deep() -> DocumentError:
    return TooDeep(f"nests deeper than {MAX_DEPTH} levels, which no chart or image needs (refused; ask the vendor for a corrected file)")


class _BoundedComposer(Composer):
    """PyYAML's composer with a depth limit, and the alias budget checked on each document."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _too_deep()
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Node | None:
        node = super().compose_document()
        if node is not None:
            check_expansion(node)
        return node


class _PureLoader(Reader, Scanner, Parser, _BoundedComposer, SafeConstructor, Resolver):
    """The safe loader in pure Python, bounded."""

    def __init__(self, stream: str | bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        super().fetch_flow_collection_start(token_class)
        if self.flow_level > MAX_DEPTH:  # the scanner looks ahead across open flow collections
            raise _too_deep()


_Loader: Any = _PureLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastLoader(_BoundedComposer, CParser, SafeConstructor, Resolver):
        """libyaml's parser (several times faster) under the bounded composer written in Python."""

        def __init__(self, stream: str | bytes) -> None:
            CParser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _Loader = _FastLoader


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_expansion(root: Node) -> None:
    """Refuse a node graph whose aliases expand it too far, nest it too deep or form a cycle."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            open_.discard(key)
            size[key] = min(1 + sum(size[id(k)] for k in kids), 1 << 62)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if depth[key] > MAX_DEPTH:
                raise _too_deep()
            continue
        if key in size:
            continue
        if key in open_:
            raise DocumentError("holds a YAML alias that refers to the node it is in")
        open_.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in open_:
                raise DocumentError("holds a YAML alias that refers to the node it is in")
            if id(kid) not in size:
                stack.append((kid, False))
    expanded = size[id(root)]
    if expanded > max(ALIAS_FLOOR, ALIAS_RATIO * len(size)):
        raise DocumentError(
            f"expands its YAML aliases to more than {max(ALIAS_FLOOR, ALIAS_RATIO * len(size))} values "
            f"from {len(size)} written, an alias bomb (refused; ask the vendor for a corrected file)"
        )


def _first_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text[:200] if text else type(err).__name__


def _read(data: str | bytes, step: Callable[[Any], T]) -> T:
    loader = _Loader(data)
    try:
        return step(loader)
    except yaml.MarkedYAMLError as err:
        where = f" at line {err.problem_mark.line + 1}" if err.problem_mark is not None else ""
        raise DocumentError(f"is not valid YAML{where} ({err.problem or _first_line(err)})") from None
    except yaml.YAMLError as err:
        raise DocumentError(f"is not valid YAML ({_first_line(err)})") from None
    except RecursionError:
        raise _too_deep() from None
    except UnicodeDecodeError:
        raise DocumentError("is not UTF-8 text") from None
    finally:
        loader.dispose()


def load_yaml(data: str | bytes) -> Any:
    """One YAML document, as ``yaml.safe_load`` reads it, within the limits above."""
    return _read(data, lambda loader: loader.get_single_data())


def compose_yaml(data: str | bytes) -> Node | None:
    """The node graph of one YAML document (scalars as written, with their style), within the limits above."""
    return _read(data, lambda loader: loader.get_single_node())


def load_json(data: str | bytes) -> Any:
    """A JSON document, nesting at most :data:`MAX_DEPTH` levels."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise _too_deep() from None
    except UnicodeDecodeError:
        raise DocumentError("is not UTF-8 text") from None
    except ValueError as err:
        raise DocumentError(f"is not valid JSON ({_first_line(err)})") from None
    if json_depth(doc) > MAX_DEPTH:
        raise _too_deep()
    return doc


def json_depth(doc: Any) -> int:
    """How deep lists and objects nest in a parsed document (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            items: Any = value.values()
        elif isinstance(value, list):
            items = value
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((item, level) for item in items)
    return deepest
