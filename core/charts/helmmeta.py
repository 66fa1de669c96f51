"""Chart.yaml as Helm reads it, and what ``helm push`` writes from it.

Helm decodes Chart.yaml with go-yaml into typed Go fields, so a value written as a number
or a boolean where Helm keeps text becomes that text as Go prints it: ``appVersion: 1.10``
is ``"1.1"``, ``appVersion: 7`` is ``"7"``, an annotation ``revision: 2`` is ``"2"`` and
``yes`` is ``"true"``. Helm then drops fields it does not know and replaces control and
space characters in most text fields. The OCI config blob ``helm push`` writes is this
metadata as Go's JSON encoder writes it; its manifest annotations come from it too.

Plain scalars are resolved here as go-yaml does (not as PyYAML does: ``y`` and ``0o17``
differ, ``1e3`` is a number, ``1:20`` and dates stay text). A value of the wrong kind (a
list for ``appVersion``, text for ``deprecated``) is refused, as Helm refuses it.
"""

from __future__ import annotations

import json
import math
import re
import struct
import unicodedata
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.safeload import compose_yaml

GoValue = Any  # what go-yaml decodes into an interface{}: None, bool, int, float, str, list, dict

# Helm's chart.Metadata, in the order Go writes its fields, with the kind of each
_TEXT, _TEXTS, _BOOL, _MAP, _MAINTAINERS, _DEPENDENCIES = "text", "texts", "bool", "map", "maintainers", "deps"
_METADATA = (
    ("name", _TEXT), ("home", _TEXT), ("sources", _TEXTS), ("version", _TEXT), ("description", _TEXT),
    ("keywords", _TEXTS), ("maintainers", _MAINTAINERS), ("icon", _TEXT), ("apiVersion", _TEXT),
    ("condition", _TEXT), ("tags", _TEXT), ("appVersion", _TEXT), ("deprecated", _BOOL),
    ("annotations", _MAP), ("kubeVersion", _TEXT), ("dependencies", _DEPENDENCIES), ("type", _TEXT),
)  # fmt: skip
_MAINTAINER = (("name", _TEXT), ("email", _TEXT), ("url", _TEXT))
_DEPENDENCY = (
    ("name", _TEXT), ("version", _TEXT), ("repository", _TEXT), ("condition", _TEXT), ("tags", _TEXTS),
    ("enabled", _BOOL), ("import-values", "any"), ("alias", _TEXT),
)  # fmt: skip
# text fields Helm sanitises on load: spaces become " ", other unprintable characters go
_SANITISED = {"name", "home", "sources", "description", "keywords", "icon", "condition", "tags", "appVersion",
              "kubeVersion"}  # fmt: skip

_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_NULL = {"", "~", "null", "Null", "NULL"}
_INF = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}
_NAN = {".nan", ".NaN", ".NAN"}
_INT = re.compile(r"^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INT64 = 1 << 63
_UINT64 = 1 << 64


class HelmMetadataError(ValueError):
    """Chart.yaml holds something Helm cannot read; ``str()`` is a clause naming the field."""


def _go_int(text: str) -> int | None:
    if not _INT.match(text):
        return None
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-")
    base = 10
    if body[:2] in ("0x", "0X"):
        base, body = 16, body[2:]
    elif body[:2] in ("0o", "0O"):
        base, body = 8, body[2:]
    elif body[:2] in ("0b", "0B"):
        base, body = 2, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base = 8
    value = sign * int(body, base)
    if -_INT64 <= value < _UINT64:
        return value
    return None


def resolve_plain(text: str) -> GoValue:
    """A plain (unquoted) scalar as go-yaml resolves it."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in _INF:
        return math.inf
    if text in ("-.inf", "-.Inf", "-.INF"):
        return -math.inf
    if text in _NAN:
        return math.nan
    if text[0] not in "+-.0123456789":
        return text
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return number
    if _FLOAT.match(plain):
        value = float(plain)
        return value if not math.isinf(value) else text
    return text


def _node_value(node: Node) -> GoValue:
    """A composed node as go-yaml decodes it into an untyped Go value (maps keyed by text)."""
    if isinstance(node, ScalarNode):
        return resolve_plain(node.value) if not node.style else str(node.value)  # plain: None or ""
    if isinstance(node, SequenceNode):
        return [_node_value(item) for item in node.value]
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and not key_node.style and key_node.value == "<<":
                for source in value_node.value if isinstance(value_node, SequenceNode) else [value_node]:
                    merged = _node_value(source)
                    if isinstance(merged, dict):
                        for key, value in merged.items():
                            out.setdefault(key, value)
                continue
            key = _node_value(key_node)
            if isinstance(key, (list, dict)):
                raise HelmMetadataError("has a mapping key that is not text")
            out[go_text(key)] = _node_value(value_node)
        return out
    raise HelmMetadataError("holds a YAML node Helm cannot read")


def go_float32(value: float) -> str:
    """``strconv.FormatFloat(value, 'g', -1, 32)``: the shortest text that reads back as the same float32."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    single = struct.unpack("<f", struct.pack("<f", value))[0]
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    for digits in range(1, 10):
        text = f"{single:.{digits - 1}e}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == single:
            break
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text)
    sign = "-" if mantissa.startswith("-") else ""
    figures = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    if exponent < -4 or exponent >= 6:  # %e, as Go's shortest 'g' decides
        body = figures[0] + ("." + figures[1:] if len(figures) > 1 else "")
        return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{figures}"
    whole = figures[: exponent + 1].ljust(exponent + 1, "0")
    fraction = figures[exponent + 1 :]
    return f"{sign}{whole}" + (f".{fraction}" if fraction else "")


def go_text(value: GoValue) -> str:
    """A decoded scalar where Helm expects text, as sigs.k8s.io/yaml turns it into a Go string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float32(value)
    if isinstance(value, str):
        return value
    raise TypeError(type(value).__name__)


def _go_is_space(char: str) -> bool:
    if char in "\t\n\v\f\r \x85\xa0":
        return True
    return ord(char) > 0xFF and unicodedata.category(char) in ("Zs", "Zl", "Zp")


def sanitize(text: str) -> str:
    """Helm's sanitizeString: every space character becomes " ", other unprintable ones are dropped."""
    return "".join(" " if _go_is_space(c) else c for c in text if _go_is_space(c) or c.isprintable())


def _field(value: GoValue, kind: str, where: str, *, clean: bool) -> Any:
    if kind == "any":
        return value
    if kind == _TEXT:
        if isinstance(value, (list, dict)):
            raise HelmMetadataError(f"has {where} as a {_kind_name(value)} where Helm expects text")
        text = go_text(value)
        return sanitize(text) if clean else text
    if kind == _BOOL:
        if value is None or isinstance(value, bool):
            return bool(value)
        raise HelmMetadataError(f"has {where} {value!r} where Helm expects true or false")
    if kind == _TEXTS:
        return [_field(item, _TEXT, f"{where}[{i}]", clean=clean) for i, item in enumerate(_listed(value, where))]
    if kind == _MAP:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise HelmMetadataError(f"has {where} as a {_kind_name(value)} where Helm expects a mapping of text")
        return {key: _field(item, _TEXT, f"{where}.{key}", clean=False) for key, item in sorted(value.items())}
    shape = _MAINTAINER if kind == _MAINTAINERS else _DEPENDENCY
    out = []
    for i, item in enumerate(_listed(value, where)):
        if not isinstance(item, dict):
            raise HelmMetadataError(f"has {where}[{i}] as a {_kind_name(item)} where Helm expects a mapping")
        out.append(_struct(item, shape, f"{where}[{i}]", clean_all=True))
    return out


def _listed(value: GoValue, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise HelmMetadataError(f"has {where} as a {_kind_name(value)} where Helm expects a list")
    return value


def _kind_name(value: GoValue) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return "text" if isinstance(value, str) else "value"


def _empty(value: Any) -> bool:
    return value in (None, "", False, [], {})


def _struct(doc: dict[str, Any], shape: tuple[tuple[str, str], ...], where: str, *, clean_all: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in shape:
        clean = clean_all or name in _SANITISED
        value = _field(doc.get(name), kind, f"{where}.{name}" if where else name, clean=clean)
        if not _empty(value):  # every field is omitempty
            out[name] = value
    return out


def helm_metadata(data: bytes | str) -> dict[str, Any]:
    """Chart.yaml as Helm's ``chart.Metadata``, fields in Go's order (raises HelmMetadataError, DocumentError)."""
    node = compose_yaml(data)
    doc = _node_value(node) if node is not None else None
    if not isinstance(doc, dict):
        raise HelmMetadataError("is not a mapping")
    return _struct(doc, _METADATA, "", clean_all=False)


def readable_config(doc: Any) -> bool:
    """Whether Helm can read a chart config blob (parsed JSON): every field of the kind Helm's struct has.

    Charts pushed by earlier archfuse versions carry numbers where Helm wants text; ``helm pull`` fails on them.
    """
    return isinstance(doc, dict) and _fits(doc, _METADATA)


def _fits(doc: dict[str, Any], shape: tuple[tuple[str, str], ...]) -> bool:
    for name, kind in shape:
        value = doc.get(name)
        if value is None or kind == "any":
            continue
        if kind == _TEXT:
            ok = isinstance(value, str)
        elif kind == _BOOL:
            ok = isinstance(value, bool)
        elif kind == _TEXTS:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif kind == _MAP:
            ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        else:
            inner = _MAINTAINER if kind == _MAINTAINERS else _DEPENDENCY
            ok = isinstance(value, list) and all(isinstance(v, dict) and _fits(v, inner) for v in value)
        if not ok:
            return False
    return True


def go_json(value: Any) -> bytes:
    """Compact JSON as Go's encoding/json writes it (HTML-safe escapes, map keys sorted by the caller)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(char, escaped)
    return text.encode()


def helm_config(metadata: dict[str, Any]) -> bytes:
    """The OCI config blob ``helm push`` writes for a chart with this metadata."""
    return go_json(metadata)


# annotation names of the OCI image spec that helm push fills from the chart
TITLE = "org.opencontainers.image.title"
VERSION = "org.opencontainers.image.version"
DESCRIPTION = "org.opencontainers.image.description"
URL = "org.opencontainers.image.url"
SOURCE = "org.opencontainers.image.source"
AUTHORS = "org.opencontainers.image.authors"
CREATED = "org.opencontainers.image.created"


def helm_annotations(metadata: dict[str, Any]) -> dict[str, str]:
    """The manifest annotations ``helm push`` writes for a chart, except the push time.

    Helm writes ``org.opencontainers.image.created`` as the time of the push unless the chart's
    own annotations set it; archfuse writes it only when the chart sets it, so the same chart
    always gives the same manifest.
    """
    out: dict[str, str] = {}
    maintainers = metadata.get("maintainers") or []
    authors = ", ".join(
        m.get("name", "") + (f" ({m['email']})" if m.get("email") else "") for m in maintainers
    )
    sources = metadata.get("sources") or []
    for key, value in (
        (DESCRIPTION, metadata.get("description", "")), (TITLE, metadata.get("name", "")),
        (VERSION, metadata.get("version", "")), (URL, metadata.get("home", "")),
        (SOURCE, sources[0] if sources else ""), (AUTHORS, authors),
    ):  # fmt: skip
        if value:
            out[key] = value
    for key, value in (metadata.get("annotations") or {}).items():
        if key not in (TITLE, VERSION):  # helm keeps the chart's name and version there
            out[key] = value
    return dict(sorted(out.items()))
