"""Relocation: point every hinted image of a chart (and its subcharts) at its destination.

Each hint renders to an image reference; :func:`core.oci.refs.destination` gives where that
image lands (the same function the image import uses) and the target supplies the host.
The keys of the hint get the parts of the new reference they held before: a registry key
gets the host, a repository key ``prefix/path``, a whole-reference key the whole new
reference, a tag or digest key is left alone. When the hint writes part of the path as
literal text, the prefix goes with the host into the registry key instead.

Only the values files that change are rewritten, by :func:`core.charts.yamledit.edit_scalars`,
so everything else in them survives byte for byte.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.charts.hints import Hint, KeyPath, is_missing, lookup, parse_hint, render, with_default_tag
from core.charts.tree import ChartNode, load_tree, merged_values, serialize
from core.charts.validate import DEFAULT_LIMITS, Limits
from core.charts.yamledit import edit_scalars
from core.errors import ChartError
from core.oci.refs import ImageRef, destination, join_path, parse_ref


@dataclass(frozen=True)
class RelocatedImage:
    hint: str
    original: str  # the reference the hint resolved to in the vendor's values
    relocated: str  # the reference it resolves to now
    imported: bool | None  # whether the package imports an image that lands there (None: not checked)


@dataclass(frozen=True)
class Relocation:
    files: dict[str, bytes]  # the chart's files, values rewritten, subchart archives repacked
    images: tuple[RelocatedImage, ...]
    changed: tuple[str, ...]  # "values.yaml: image.registry", one per rewritten value
    warnings: tuple[str, ...]


def _boundaries(
    text: str, host: str, dest: ImageRef, literal_path: bool
) -> tuple[str, dict[int, int]] | None:
    """The new reference text and a map from old to new offsets at the parts' edges.

    ``literal_path`` keeps the path text as it is and moves the prefix to the host side.
    """
    at = text.find("@")
    name_tag_end = at if at >= 0 else len(text)
    slash = text.rfind("/", 0, name_tag_end)
    colon = text.rfind(":", 0, name_tag_end)
    name_end = colon if colon > slash else name_tag_end
    first, _, rest = text[:name_end].partition("/")
    has_host = bool(rest) and ("." in first or ":" in first or first == "localhost")
    path_text = rest if has_host else text[:name_end]
    suffix = text[name_end:]
    marks: dict[int, int] = {0: 0}
    if literal_path:
        if not has_host:
            return None
        prefix = dest.path[: len(dest.path) - len(path_text)].rstrip("/")
        if dest.path != join_path(prefix, path_text):
            return None
        host_side = join_path(host, prefix) if prefix else host
        new_name = f"{host_side}/{path_text}"
        delta = len(host_side) - len(first)
        marks[len(first)] = len(host_side)
        for pos in range(len(first) + 1, name_end + 1):
            marks[pos] = pos + delta
    else:
        new_name = f"{host}/{dest.path}"
        if has_host:
            marks[len(first)] = len(host)
            marks[len(first) + 1] = len(host) + 1
        marks[name_end] = len(new_name)
    delta = len(new_name) - name_end
    for pos in range(name_end, len(text) + 1):
        marks[pos] = pos + delta
    return new_name + suffix, marks


def relocate_hint(
    hint: Hint, values: Any, *, host: str, prefix: str, bundle: str
) -> tuple[str, str, dict[KeyPath, str]]:
    """The original and relocated reference of one hint, and the new text of each of its keys."""
    text, spans = render(hint, values, bundle=bundle)
    try:
        dest = destination(text, prefix)
    except ValueError:
        raise ChartError(
            f"Image hint {hint.template!r} in bundle {bundle} resolves to {text!r}, which is not an image reference."
        ) from None
    for literal_path in (False, True):
        shaped = _boundaries(text, host, dest, literal_path)
        if shaped is None:
            continue
        new_text, marks = shaped
        if not all(s in marks and e in marks for _, s, e in spans):
            continue
        assigned = {key: new_text[marks[s] : marks[e]] for key, s, e in spans}
        check = "".join(p if isinstance(p, str) else assigned[p] for p in hint.parts)
        if check == new_text:
            return text, new_text, assigned
    raise ChartError(
        f"Image hint {hint.template!r} in bundle {bundle} cannot be pointed at {host}: "
        "its keys do not split the reference at registry, repository and tag."
    )


def _definitions(node: ChartNode, path: KeyPath) -> list[tuple[ChartNode, KeyPath]]:
    """Every chart whose own values define ``path``, the one templates see first."""
    found: list[tuple[ChartNode, KeyPath]] = []
    value = lookup(node.values, path)
    if not is_missing(value) and value is not None:
        found.append((node, path))
    if len(path) > 1 and path[0] in node.subcharts:
        found.extend(_definitions(node.subcharts[path[0]], path[1:]))
    return found


_IMAGE_LIKE = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9._-]+(?:/[a-z0-9._-]+)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)


def _looks_like_image(key: str, value: str) -> bool:
    if not _IMAGE_LIKE.match(value):
        return False
    try:
        parse_ref(value)
    except ValueError:
        return False
    tail = value.rsplit("/", 1)[-1]
    tagged = ":" in tail or "@sha256:" in value
    return ("/" in value and tagged) or (key.lower() == "image" and (tagged or "/" in value))


def _leftovers(node: ChartNode, covered: set[tuple[int, KeyPath]]) -> list[str]:
    found: list[str] = []

    def walk(value: Any, path: KeyPath) -> None:
        if isinstance(value, dict):
            repo = value.get("repository")
            if (
                isinstance(repo, str)
                and (node_id, (*path, "repository")) not in covered
                and ("tag" in value or "registry" in value or "digest" in value)
                and repo
            ):
                registry = value.get("registry")
                ref = f"{registry}/{repo}" if isinstance(registry, str) and registry else repo
                found.append(f"{where}: {'.'.join((*path, 'repository'))} ({ref})")
                return
            for key, sub in value.items():
                walk(sub, (*path, str(key)))
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                walk(sub, (*path, str(i)))
        elif (
            isinstance(value, str)
            and path
            and (node_id, path) not in covered
            and _looks_like_image(path[-1], value)
        ):
            found.append(f"{where}: {'.'.join(path)} ({value})")

    node_id = id(node)
    where = node.values_path
    walk(node.values, ())
    return found


@functools.lru_cache(maxsize=8)
def _landing(refs: frozenset[str], prefix: str) -> frozenset[ImageRef]:
    """Where the package's images land: worked out once, though every chart of the package asks."""
    out: set[ImageRef] = set()
    for ref in refs:
        try:
            out.add(destination(ref, prefix))
        except ValueError:
            continue
    return frozenset(out)


def relocate(
    files: dict[str, bytes],
    hints: Iterable[str],
    *,
    host: str,
    prefix: str = "",
    imported_refs: Iterable[str] | None = None,
    bundle: str = "",
    limits: Limits = DEFAULT_LIMITS,
) -> Relocation:
    """Rewrite a chart's values (and its subcharts') so each hinted image points at ``host``.

    ``imported_refs`` are the image references the package imports (as the package names
    them); a hinted image that lands nowhere they land is reported as a warning, as is an
    image-like value that no hint covers. Bad hints raise :class:`ChartError` naming the bundle.
    """
    what = f"bundle {bundle}" if bundle else "the chart"
    tree = load_tree(files, what=what, limits=limits)
    values = merged_values(tree)
    parsed = [parse_hint(h, bundle=bundle) for h in hints]
    landing = None if imported_refs is None else _landing(frozenset(imported_refs), prefix)

    assignments: dict[KeyPath, tuple[str, str]] = {}  # key -> (new text, hint)
    images: list[RelocatedImage] = []
    warnings: list[str] = []
    for hint in parsed:
        original, relocated, assigned = relocate_hint(hint, values, host=host, prefix=prefix, bundle=bundle)
        for key, new in assigned.items():
            before = assignments.get(key)
            if before is not None and before[0] != new:
                raise ChartError(
                    f"Image hints {before[1]!r} and {hint.template!r} in bundle {bundle} need different values "
                    f"for {'.'.join(key)!r} ({before[0]!r} and {new!r})."
                )
            assignments[key] = (new, hint.template)
        original = with_default_tag(original, tree.app_version)
        relocated = with_default_tag(relocated, tree.app_version)
        imported = None if landing is None else destination(original, prefix) in landing
        if imported is False:
            warnings.append(
                f"Image {original} (hint {hint.template!r}) is not in the package; the chart will pull {relocated}, "
                "which this import does not provide."
            )
        images.append(RelocatedImage(hint.template, original, relocated, imported))

    edits: dict[int, dict[KeyPath, str]] = {}
    nodes: dict[int, ChartNode] = {}
    covered: set[tuple[int, KeyPath]] = set()
    changed: list[str] = []
    for key, (new, _) in assignments.items():
        places = _definitions(tree, key)
        for node, sub_path in places:
            covered.add((id(node), sub_path))
        node, sub_path = places[0]
        if lookup(node.values, sub_path) != new:
            edits.setdefault(id(node), {})[sub_path] = new
            nodes[id(node)] = node
            changed.append(f"{node.values_path}: {'.'.join(sub_path)}")
    for node_id, node_edits in edits.items():
        node = nodes[node_id]
        try:
            text = node.files["values.yaml"].decode("utf-8")
        except UnicodeDecodeError:
            raise ChartError(f"{node.values_path} in {what} is not UTF-8 text.") from None
        new_text = edit_scalars(text, node_edits, what=f"{node.values_path} in {what}")
        node.files = {**node.files, "values.yaml": new_text.encode("utf-8")}
        node.dirty = True

    for node in tree.walk():
        for item in _leftovers(node, covered):
            warnings.append(
                f"No hint covers the image in {item}; it would be pulled from outside the air gap."
            )
    return Relocation(serialize(tree), tuple(images), tuple(changed), tuple(warnings))
