"""The offline bundle's completeness check: each Python and CPU resolves from the wheels alone.

Wheels here are small real wheel files (a zip with METADATA) written by the test; CI builds and
installs the real bundle (.ci/run).
"""

from __future__ import annotations

import importlib.util
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ob() -> ModuleType:
    spec = importlib.util.spec_from_file_location("offline_bundle", ROOT / "scripts" / "offline_bundle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["offline_bundle"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def wheel(
    folder: Path,
    name: str,
    version: str,
    tag: str = "py3-none-any",
    *,
    requires: tuple[str, ...] = (),
    requires_python: str = "",
) -> Path:
    path = folder / f"{name}-{version}-{tag}.whl"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Python: {requires_python}"] if requires_python else []
    meta += [f"Requires-Dist: {r}" for r in requires]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}-{version}.dist-info/METADATA", "\n".join(meta) + "\n")
    return path


def compiled(folder: Path, name: str, version: str, py: str, arch: str) -> Path:
    return wheel(folder, name, version, f"cp{py}-cp{py}-manylinux2014_{arch}.manylinux_2_17_{arch}")


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    wheel(tmp_path, "archfuse", "1.0.0", requires=("fastyaml>=6", "anyio", "rich[jupyter]"))
    wheel(tmp_path, "anyio", "4.0", requires=('exceptiongroup>=1; python_version < "3.11"',))
    wheel(tmp_path, "exceptiongroup", "1.2")
    wheel(
        tmp_path,
        "rich",
        "15.0",
        requires=('ipywidgets; extra == "jupyter"', 'colorama; sys_platform == "win32"'),
    )
    wheel(tmp_path, "ipywidgets", "8.0")
    for py in ("39", "310", "311", "312", "313", "314"):
        for arch in ("x86_64", "aarch64"):
            compiled(tmp_path, "fastyaml", "6.0", py, arch)
    return tmp_path


def test_each_python_and_cpu_takes_its_own_compiled_wheel_and_marker_dependencies(
    ob: ModuleType, wheels: Path
) -> None:
    found = ob.read_wheels(wheels)
    root = ob.Requirement("archfuse==1.0.0")
    old = ob.resolve(ob.Target("3.9", "aarch64"), found, root)
    assert not old.missing
    assert old.chosen["fastyaml"].path.name.startswith("fastyaml-6.0-cp39-cp39-manylinux2014_aarch64")
    # the marker is the target's (3.9), not that of the Python running the check
    assert "exceptiongroup" in old.chosen and "ipywidgets" in old.chosen and "colorama" not in old.chosen
    new = ob.resolve(ob.Target("3.13", "x86_64"), found, root)
    assert not new.missing and "exceptiongroup" not in new.chosen
    assert "fastyaml==6.0\n" in new.constraints()


def test_a_missing_aarch64_wheel_is_named(ob: ModuleType, wheels: Path) -> None:
    (wheels / "fastyaml-6.0-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.whl").unlink()
    found = ob.read_wheels(wheels)
    result = ob.resolve(ob.Target("3.13", "aarch64"), found, ob.Requirement("archfuse==1.0.0"))
    assert result.missing == {"fastyaml": "fastyaml>=6"}
    assert ob._missing_text(result) == "CPython 3.13 on linux aarch64 misses a wheel of fastyaml>=6"


def test_newer_glibc_abi3_and_requires_python_are_judged_like_pip(ob: ModuleType, tmp_path: Path) -> None:
    t = ob.Target("3.10", "aarch64")
    read = ob.Wheel.read
    assert not t.accepts(
        read(wheel(tmp_path, "a", "1", "cp310-cp310-manylinux_2_28_aarch64"))
    )  # glibc 2.28 > 2.17
    assert t.accepts(read(wheel(tmp_path, "b", "1", "cp38-abi3-manylinux_2_17_aarch64")))
    assert not t.accepts(read(wheel(tmp_path, "c", "1", "cp311-abi3-manylinux_2_17_aarch64")))
    assert not t.accepts(read(wheel(tmp_path, "d", "1", "cp310-cp310-manylinux2014_x86_64")))
    assert not t.accepts(read(wheel(tmp_path, "e", "1", requires_python=">=3.11")))


def test_check_refuses_a_bundle_without_the_aarch64_half(
    ob: ModuleType, wheels: Path, tmp_path: Path
) -> None:
    stage = tmp_path / "out" / "archfuse-1.0.0-offline"
    (stage / "constraints").mkdir(parents=True)
    (stage / "wheels").mkdir()
    for path in wheels.glob("*.whl"):
        if "aarch64" not in path.name:
            path.rename(stage / "wheels" / path.name)
    found = ob.read_wheels(stage / "wheels")
    for target in ob.TARGETS:
        result = ob.resolve(target, found, ob.Requirement("archfuse==1.0.0"))
        (stage / "constraints" / f"{target.name}.txt").write_text(result.constraints())
    bundle = tmp_path / "archfuse-1.0.0-offline.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        tar.add(stage, arcname=stage.name)
    with pytest.raises(ob.BundleError) as error:
        ob.check(bundle)
    text = str(error.value)
    assert "CPython 3.9 on linux aarch64 misses a wheel of fastyaml>=6" in text
    assert "CPython 3.14 on linux aarch64 misses" in text and "x86_64 misses" not in text
