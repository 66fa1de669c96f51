"""One door and dependencies that point one way (issue 18).

The faces (``tui/``: the Textual app and the CLI) import the engine only through ``core.api``.
Inside ``core/`` every import points down the layers below, no engine module imports the door,
and no import hides inside a function (where it would dodge a cycle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: the layers of ``core/``, lowest first; a module may import its own layer's group or lower ones
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),  # the package itself: the version
    ("kinds",),
    ("advice",),  # below errors: an error's hint is Advice
    ("errors",),
    ("jsonable", "safeload", "terminal"),
    ("units",),
    ("events",),
    ("secrets",),
    ("helpers",),
    ("oci",),
    ("http",),
    ("registry",),
    ("config",),
    ("targets",),
    ("charts",),
    ("package",),
    ("plan",),
    ("record",),
    ("checks",),
    ("run",),
    ("operations",),
    ("demo",),
    ("session",),
    ("api",),
)
RANK = {group: rank for rank, groups in enumerate(LAYERS) for group in groups}
DOOR = "core.api"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """``(module, line, inside a function)`` for every import of ``core`` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "core" else [f"core.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name == "core" or name.startswith("core."):
                yield name, node.lineno, id(node) in nested


def face_violations(root: Path) -> list[str]:
    """Imports of the engine by the faces other than the door."""
    return [
        f"{path.relative_to(root)}:{line} imports {name}"
        for path in sorted((root / "tui").rglob("*.py"))
        for name, line, _nested in imports(path)
        if name != DOOR  # ``from core import events`` goes around the door too
    ]


def layer_violations(root: Path) -> list[str]:
    """Wrong-way imports inside ``core/``, imports of the door, and imports inside functions."""
    found = []
    for path in sorted((root / "core").rglob("*.py")):
        here = module_name(path, root)
        for name, line, nested in imports(path):
            where = f"{path.relative_to(root)}:{line}"
            there = "core" if name == "core.__version__" else group(name)
            if name.startswith(DOOR) and here != DOOR:
                found.append(f"{where} imports the door {name}: the engine never goes through its own door")
            elif there not in RANK or group(here) not in RANK:
                found.append(f"{where}: {here} or {name} is in no layer (add it to LAYERS)")
            elif RANK[there] > RANK[group(here)]:
                found.append(f"{where}: {here} imports {name}, a higher layer")
            elif nested:
                found.append(f"{where}: {here} imports {name} inside a function")
    return found


def test_the_faces_import_the_engine_only_through_its_door() -> None:
    assert face_violations(ROOT) == []


def test_engine_imports_point_down_the_layers() -> None:
    assert layer_violations(ROOT) == []


def test_every_core_package_has_a_layer() -> None:
    groups = {p.name for p in (ROOT / "core").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    groups |= {p.stem for p in (ROOT / "core").glob("*.py") if p.stem != "__init__"}
    assert groups <= set(RANK), sorted(groups - set(RANK))


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_face_around_the_door_a_wrong_way_import_a_hidden_one_and_the_door_inside_core_are_caught(
    tmp_path: Path,
) -> None:
    root = _tree(tmp_path, {
        "tui/ok.py": "from core.api import Session\nfrom core.api import events as ev\n",
        "tui/around.py": "def f():\n    from core.session import Session\n",
        "tui/events.py": "from core import events\n",
        "core/__init__.py": "",
        "core/api.py": "from core.session import Session\n",
        "core/kinds.py": "",
        "core/targets/__init__.py": "",
        "core/targets/base.py": "from core.kinds import Word\nfrom core.run.engine import RunOptions\n",
        "core/run/__init__.py": "",
        "core/run/engine.py": "def go():\n    from core.package.reader import iter_package\n",
        "core/session.py": "from core.api import Session\n",
    })  # fmt: skip
    assert face_violations(root) == ["tui/around.py:2 imports core.session", "tui/events.py:1 imports core.events"]
    assert layer_violations(root) == [
        "core/run/engine.py:2: core.run.engine imports core.package.reader inside a function",
        "core/session.py:1 imports the door core.api: the engine never goes through its own door",
        "core/targets/base.py:2: core.targets.base imports core.run.engine, a higher layer",
    ]
