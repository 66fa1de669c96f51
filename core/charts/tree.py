"""A chart and its subcharts (``charts/`` as directories or ``.tgz``) as one tree in memory.

Values are read twice: with PyYAML for meaning (what Helm sees) and, when a file must be
rewritten, by the text editor in :mod:`core.charts.yamledit`. ``merged_values`` gives the
values a template sees, subchart defaults under the subchart's key with the parent's values
taking precedence.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from core.charts.repack import repack, unpack
from core.charts.validate import DEFAULT_LIMITS, Limits, chart_meta, check_files
from core.errors import ChartError
from core.safeload import DocumentError, load_yaml


@dataclass
class ChartNode:
    """One chart: its files (paths relative to the chart directory) and its subcharts by values key."""

    location: str  # "" for the top chart, else e.g. "charts/sub" or "charts/sub-1.0.0.tgz"
    name: str
    files: dict[str, bytes]
    values: dict[str, Any]
    subcharts: dict[str, ChartNode] = field(default_factory=dict)
    archive_top: str = ""  # the directory inside the .tgz, for subcharts packed as archives
    dirty: bool = False  # set when this chart's files were edited
    metadata: dict[str, Any] = field(default_factory=dict)  # Chart.yaml

    @property
    def app_version(self) -> str:
        value = self.metadata.get("appVersion")
        return "" if value is None else str(value)

    @property
    def values_path(self) -> str:
        """Where this chart's values.yaml is, relative to the top chart."""
        return f"{self.location}/values.yaml" if self.location else "values.yaml"

    def walk(self) -> list[ChartNode]:
        """This chart and every chart under it, parents first (each once)."""
        out: list[ChartNode] = [self]
        seen = {id(self)}
        for sub in self.subcharts.values():
            for node in sub.walk():
                if id(node) not in seen:
                    seen.add(id(node))
                    out.append(node)
        return out


def _load_values(data: bytes | None, *, what: str) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        doc = load_yaml(data)
    except DocumentError as err:
        raise ChartError(f"values.yaml in {what} {err}.") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ChartError(f"values.yaml in {what} is not a mapping.")
    return doc


def load_tree(
    files: dict[str, bytes], *, what: str, location: str = "", limits: Limits = DEFAULT_LIMITS, depth: int = 0
) -> ChartNode:
    """Build the tree of a chart directory's files; ``what`` names the bundle in errors."""
    if depth > 8:
        raise ChartError(f"{what} nests subcharts more than 8 deep.")
    here = f"{what}, {location}" if location else what
    check_files(files, what=here, limits=limits)
    meta = chart_meta(files.get("Chart.yaml"), what=here)
    node = ChartNode(
        location, meta.name, files, _load_values(files.get("values.yaml"), what=here), metadata=meta.metadata
    )
    aliases: dict[str, list[str]] = {}
    for dep in meta.metadata.get("dependencies") or []:
        if isinstance(dep, dict) and isinstance(dep.get("name"), str) and isinstance(dep.get("alias"), str):
            aliases.setdefault(dep["name"], []).append(dep["alias"])
    subs: dict[str, dict[str, bytes]] = {}
    for path, data in sorted(files.items()):
        if not path.startswith("charts/"):
            continue
        rest = path[len("charts/") :]
        head, _, inner = rest.partition("/")
        sub_location = f"{location}/charts/{head}" if location else f"charts/{head}"
        if inner:
            subs.setdefault(head, {})[inner] = data
        elif head.endswith(".tgz"):
            top, sub_files = unpack(data, what=f"{here}, {path}", limits=limits)
            child = load_tree(sub_files, what=what, location=sub_location, limits=limits, depth=depth + 1)
            child.archive_top = top
            _attach(node, child, aliases)
    for head, sub_files in subs.items():
        if "Chart.yaml" not in sub_files:
            continue  # not a chart directory (helm ignores it too)
        sub_location = f"{location}/charts/{head}" if location else f"charts/{head}"
        child = load_tree(sub_files, what=what, location=sub_location, limits=limits, depth=depth + 1)
        _attach(node, child, aliases)
    return node


def _attach(parent: ChartNode, child: ChartNode, aliases: dict[str, list[str]]) -> None:
    for key in aliases.get(child.name) or [child.name]:
        parent.subcharts[key] = child


def merged_values(node: ChartNode) -> dict[str, Any]:
    """The values templates see: subchart defaults under their keys, overridden by the parent's."""
    out = copy.deepcopy(node.values)
    for key, sub in node.subcharts.items():
        out[key] = _coalesce(out.get(key), merged_values(sub))
    return out


def _coalesce(parent: Any, defaults: dict[str, Any]) -> Any:
    if parent is None:
        return defaults
    if not isinstance(parent, dict):
        return parent
    out = dict(defaults)
    for key, value in parent.items():
        out[key] = _coalesce(value, out[key]) if isinstance(out.get(key), dict) else value
    return out


def chart_values(files: dict[str, bytes], *, what: str = "the chart") -> dict[str, Any]:
    """Merged values of a chart directory's files (for resolving hints without relocating)."""
    return merged_values(load_tree(files, what=what))


def serialize(node: ChartNode) -> dict[str, bytes]:
    """The node's files with every subchart written back (archives repacked), bottom-up."""
    files = dict(node.files)
    prefix = f"{node.location}/" if node.location else ""
    done: set[int] = set()
    for sub in node.subcharts.values():
        if id(sub) in done:
            continue
        done.add(id(sub))
        rel = sub.location[len(prefix) :]
        sub_files = serialize(sub)
        if sub.archive_top:
            if any(n.dirty for n in sub.walk()):
                files[rel] = repack(sub.archive_top, sub_files)
        else:
            for path, data in sub_files.items():
                files[f"{rel}/{path}"] = data
    return files
