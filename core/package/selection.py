"""The default selection of packages: per kind (full, gpu, ...), every arch of the newest version that has them all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.helpers.versions import version_key
from core.package.naming import FULL


@dataclass(frozen=True)
class Listed:
    """A package file as a face lists it: where, which version and arch, and whether it can be read."""

    path: str
    version: str
    arch: str
    readable: bool = True
    kind: str = FULL


@dataclass(frozen=True)
class Selection:
    """The packages selected and the sentence saying why (empty when there is nothing to say)."""

    paths: frozenset[str]
    note: str = ""


def default_selection(listed: Iterable[Listed]) -> Selection:
    """Per kind of package (full, gpu, ...: each its own matrix), :func:`kind_selection`; the notes
    of kinds other than ``full`` name their kind."""
    kinds: dict[str, list[Listed]] = {}
    for cell in listed:
        kinds.setdefault(cell.kind, []).append(cell)
    paths: set[str] = set()
    notes: list[str] = []
    for kind in sorted(kinds, key=lambda k: (k != FULL, k)):
        chosen = kind_selection(kinds[kind])
        paths |= chosen.paths
        if chosen.note:
            notes.append(chosen.note if kind == FULL else f"{kind}: {chosen.note}")
    return Selection(frozenset(paths), " ".join(notes))


def kind_selection(listed: Iterable[Listed]) -> Selection:
    """Every arch of the newest version that has a readable package for each; says why when that is
    not the newest version. With no such version, the newest readable package of each arch, said so."""
    cells = {(p.version, p.arch): p for p in listed}
    arches = sorted({a for _, a in cells})
    versions = sorted({v for v, _ in cells}, key=version_key, reverse=True)
    if not versions:
        return Selection(frozenset())

    def readable(version: str, arch: str) -> bool:
        cell = cells.get((version, arch))
        return cell is not None and cell.readable

    complete = [v for v in versions if all(readable(v, a) for a in arches)]
    if complete:
        chosen = complete[0]
        paths = frozenset(cells[(chosen, a)].path for a in arches)
        newer = versions[: versions.index(chosen)]
        if not newer:
            return Selection(paths, f"Selected {chosen} for every arch ({', '.join(arches)}).")
        lacks = ", ".join(f"{v} has no {','.join(a for a in arches if not readable(v, a))}" for v in newer)
        return Selection(
            paths,
            f"Selected {chosen}, the newest version with every arch ({', '.join(arches)}): {lacks}. "
            "Selecting a newer one leaves its tags without the missing arch.",
        )
    newest: dict[str, Listed] = {}
    for cell in cells.values():
        if not cell.readable:
            continue
        if cell.arch not in newest or version_key(cell.version) > version_key(newest[cell.arch].version):
            newest[cell.arch] = cell
    return Selection(
        frozenset(c.path for c in newest.values()),
        "No version has a package for every arch (" + ", ".join(arches) + "); selected the newest of each arch: "
        + ", ".join(f"{c.version} {a}" for a, c in sorted(newest.items())) + ".",
    )
