"""Build and check archfuse's offline bundle (scripts/offline-bundle runs this in .venv).

The bundle is one file, ``dist/archfuse-<version>-offline.tar.gz``: archfuse's wheel and every
runtime dependency as wheels, for CPython 3.9-3.14 on linux x86_64 and aarch64 (glibc 2.17 and
newer), one constraints file per Python and CPU (the exact set checked here), and install.sh.

pip's ``download --python-version`` evaluates dependency markers (``python_version < "3.11"``)
against the interpreter running it, not the target, so the set each target needs is resolved here
with the target's markers and tags, the way pip on that node resolves it from the bundle alone;
what is missing is downloaded, and a target that still misses a wheel fails the build by name.

    offline_bundle.py build [--out DIR]     # writes the bundle, prints what it holds
    offline_bundle.py check BUNDLE.tar.gz   # every target resolves from the bundle alone
"""

from __future__ import annotations

import argparse
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
#: "3.9-3.14", as the bundle's CONTENTS.txt and install.sh say it
SPAN = f"{PYTHONS[0]}-{PYTHONS[-1]}"
ARCHES = ("x86_64", "aarch64")
#: the oldest glibc the bundle's compiled wheels may need (manylinux2014)
GLIBC_FLOOR = (2, 17)
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


class BundleError(Exception):
    """The bundle cannot be made or is incomplete; the message says what is missing."""


@dataclass(frozen=True)
class Target:
    """One CPython version on one CPU: a node the bundle must install on."""

    python: str  # "3.9"
    arch: str  # "x86_64" | "aarch64"

    @property
    def name(self) -> str:
        return f"cp{self.python.replace('.', '')}-{self.arch}"

    @property
    def minor(self) -> int:
        return int(self.python.split(".")[1])

    def pip_args(self) -> list[str]:
        """``pip download`` options that select wheels for this target."""
        platforms = [f"manylinux2014_{self.arch}", f"manylinux_2_17_{self.arch}"]
        args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", self.python]
        for platform in platforms:
            args += ["--platform", platform]
        return args

    def environment(self, extra: str = "") -> dict[str, str]:
        """The marker environment of this target (PEP 508)."""
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{self.python}.0",
            "os_name": "posix",
            "platform_machine": self.arch,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{self.python}.0",
            "python_version": self.python,
            "sys_platform": "linux",
            "extra": extra,
        }

    def accepts(self, wheel: Wheel) -> bool:
        """Whether pip on this target installs ``wheel`` (its tags and Requires-Python)."""
        if wheel.requires_python and not SpecifierSet(wheel.requires_python).contains(f"{self.python}.0"):
            return False
        return any(self._accepts_tag(t.interpreter, t.abi, t.platform) for t in wheel.tags)

    def _accepts_tag(self, interpreter: str, abi: str, platform: str) -> bool:
        cp = f"cp3{self.minor}"
        pure = interpreter in ("py3", f"py3{self.minor}") and abi == "none"
        exact = interpreter == cp and abi in (cp, "abi3", "none")
        stable = abi == "abi3" and re.fullmatch(r"cp3\d+", interpreter) is not None and int(interpreter[3:]) <= self.minor
        return (pure or exact or stable) and (platform == "any" or self._accepts_platform(platform))

    def _accepts_platform(self, platform: str) -> bool:
        match = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", platform)
        if match:
            glibc = (int(match.group(1)), int(match.group(2)))
            return match.group(3) == self.arch and glibc <= GLIBC_FLOOR
        legacy, _, arch = platform.partition("_")
        return arch == self.arch and legacy in _LEGACY_MANYLINUX


TARGETS = tuple(Target(p, a) for a in ARCHES for p in PYTHONS)


@dataclass
class Wheel:
    """One wheel file and what its metadata says."""

    path: Path
    name: str
    version: Version
    tags: frozenset[Tag]
    requires_python: str
    requires: list[Requirement]

    @property
    def compiled(self) -> bool:
        return any(t.platform != "any" for t in self.tags)

    @classmethod
    def read(cls, path: Path) -> Wheel:
        name, version, _build, tags = parse_wheel_filename(path.name)
        with zipfile.ZipFile(path) as archive:
            meta_name = next(n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
            meta = email.parser.Parser().parsestr(archive.read(meta_name).decode("utf-8"), headersonly=True)
        return cls(
            path=path,
            name=str(name),
            version=version,
            tags=frozenset(tags),
            requires_python=(meta.get("Requires-Python") or "").strip(),
            requires=[Requirement(r) for r in meta.get_all("Requires-Dist") or []],
        )


@dataclass
class Resolution:
    """What one target installs from a folder of wheels, and what it misses."""

    target: Target
    chosen: dict[str, Wheel] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # name -> requirement text

    def constraints(self) -> str:
        return "".join(f"{n}=={w.version}\n" for n, w in sorted(self.chosen.items()))


def read_wheels(folder: Path) -> dict[str, list[Wheel]]:
    """The wheels in ``folder`` by project name, newest first."""
    found: dict[str, list[Wheel]] = {}
    for path in sorted(folder.glob("*.whl")):
        wheel = Wheel.read(path)
        found.setdefault(wheel.name, []).append(wheel)
    for wheels in found.values():
        wheels.sort(key=lambda w: w.version, reverse=True)
    return found


def resolve(target: Target, wheels: dict[str, list[Wheel]], root: Requirement) -> Resolution:
    """Pick, as pip does, the newest wheel of every requirement that the target accepts."""
    result = Resolution(target)
    specs: dict[str, SpecifierSet] = {}
    extras: dict[str, set[str]] = {}
    todo = [root]
    while todo:
        req = todo.pop()
        name = str(canonicalize_name(req.name))
        old_spec, old_extras = specs.get(name), extras.get(name, set())
        specs[name] = (old_spec or SpecifierSet()) & req.specifier
        extras[name] = old_extras | set(req.extras)
        if old_spec is not None and specs[name] == old_spec and extras[name] == old_extras:
            continue
        usable = [
            w
            for w in wheels.get(name, [])
            if target.accepts(w) and specs[name].contains(w.version, prereleases=True)
        ]
        if not usable:
            result.missing[name] = f"{req.name}{specs[name]}"
            result.chosen.pop(name, None)
            continue
        result.missing.pop(name, None)
        best = result.chosen[name] = usable[0]
        for dep in best.requires:
            if dep.marker is None or any(_applies(dep.marker, target, e) for e in {"", *extras[name]}):
                todo.append(dep)
    return result


def _applies(marker: Marker, target: Target, extra: str) -> bool:
    return marker.evaluate(target.environment(extra))


def pip_download(target: Target, requirements: Iterable[str], into: Path, *, no_deps: bool = False) -> None:
    """``pip download`` for one target; fails with pip's own words about what it could not find."""
    command = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "-d", str(into)]
    command += target.pip_args() + (["--no-deps"] if no_deps else []) + list(requirements)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        wanted = re.findall(r"satisfies the requirement (\S+)", done.stderr) or [" ".join(requirements)]
        raise BundleError(
            f"no wheel of {', '.join(sorted(set(wanted)))} for CPython {target.python} on linux "
            f"{target.arch} (glibc {GLIBC_FLOOR[0]}.{GLIBC_FLOOR[1]}): pip said: "
            + (_last_error(done.stderr) or "nothing")
        )


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("ERROR")]
    return lines[-1] if lines else ""


def collect(target: Target, archfuse_wheel: Path, work: Path, rounds: int = 5) -> Resolution:
    """Download what ``target`` needs into ``work/<target>`` until it resolves there alone."""
    into = work / target.name
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy2(archfuse_wheel, into)
    root = Requirement(f"archfuse=={Wheel.read(archfuse_wheel).version}")
    pip_download(target, [str(archfuse_wheel)], into)
    for _ in range(rounds):
        resolution = resolve(target, read_wheels(into), root)
        if not resolution.missing:
            return resolution
        pip_download(target, resolution.missing.values(), into)
    raise BundleError(_missing_text(resolution))


def _missing_text(resolution: Resolution) -> str:
    t = resolution.target
    return f"CPython {t.python} on linux {t.arch} misses a wheel of " + ", ".join(
        sorted(resolution.missing.values())
    )


def build_archfuse_wheel(into: Path) -> Path:
    """archfuse's own wheel, built from this checkout."""
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' leftovers would go into the wheel
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check"]
    subprocess.run(command + ["-w", str(into), str(ROOT)], check=True, stdout=subprocess.DEVNULL)
    (wheel,) = into.glob("archfuse-*.whl")
    return wheel


def version() -> str:
    text = (ROOT / "core" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not found:
        raise BundleError("core/__init__.py has no __version__ line")
    return found.group(1)


def render_install(ver: str) -> str:
    """The bundle's install.sh: scripts/offline-install.sh with the version and the Pythons filled in."""
    text = (ROOT / "scripts" / "offline-install.sh").read_text()
    for key, value in (("VERSION", ver), ("OLDEST", PYTHONS[0].split(".")[1]), ("NEWEST", PYTHONS[-1].split(".")[1])):
        text = text.replace(f"@{key}@", value)
    return text


def build(out: Path) -> Path:
    """Write the bundle into ``out`` and return its path."""
    ver = version()
    top = f"archfuse-{ver}-offline"
    with tempfile.TemporaryDirectory(prefix="archfuse-bundle-") as tmp:
        work = Path(tmp)
        stage = work / top
        (stage / "wheels").mkdir(parents=True)
        (stage / "constraints").mkdir()
        archfuse_wheel = build_archfuse_wheel(work / "self")
        resolutions = []
        for target in TARGETS:
            print(f"  {target.name}: collecting wheels", file=sys.stderr)
            resolution = collect(target, archfuse_wheel, work / "targets")
            resolutions.append(resolution)
            for wheel in resolution.chosen.values():
                shutil.copy2(wheel.path, stage / "wheels" / wheel.path.name)
            (stage / "constraints" / f"{target.name}.txt").write_text(resolution.constraints())
        install = render_install(ver)
        (stage / "install.sh").write_text(install)
        (stage / "install.sh").chmod(0o755)
        shutil.copy2(ROOT / "scripts" / "completion.bash", stage / "archfuse.bash")  # install.sh installs it
        (stage / "CONTENTS.txt").write_text(contents(ver, resolutions))
        out.mkdir(parents=True, exist_ok=True)
        bundle = out / f"{top}.tar.gz"
        partial = bundle.with_name(bundle.name + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(stage, arcname=top, filter=_plain)
        os.replace(partial, bundle)
    return bundle


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def contents(ver: str, resolutions: list[Resolution]) -> str:
    """CONTENTS.txt: what each target installs, compiled wheels marked."""
    lines = [f"archfuse {ver} offline bundle: linux x86_64 and aarch64 (glibc >= 2.17), CPython {SPAN}", ""]
    for r in resolutions:
        wheels = sorted(r.chosen.values(), key=lambda w: w.name)
        lines.append(f"{r.target.name}: " + ", ".join(f"{w.name} {w.version}" + (" *" if w.compiled else "") for w in wheels))
    lines += ["", "* compiled: a wheel for this CPU and Python is in wheels/"]
    return "\n".join(lines) + "\n"


def check(bundle: Path) -> list[Resolution]:
    """Resolve every target from the bundle's own wheels and constraints; raise naming what misses."""
    with tempfile.TemporaryDirectory(prefix="archfuse-check-") as tmp, tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in member.name:
                raise BundleError(f"{bundle}: unexpected member {member.name}")
            into = Path(tmp, member.name)
            if member.isdir():
                into.mkdir(parents=True, exist_ok=True)
            else:
                into.parent.mkdir(parents=True, exist_ok=True)
                into.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
        (stage,) = Path(tmp).iterdir()
        wheels = read_wheels(stage / "wheels")
        ver = re.fullmatch(r"archfuse-(.+)-offline", stage.name)
        if not ver:
            raise BundleError(f"{bundle}: unexpected top folder {stage.name}")
        problems, resolutions = [], []
        for target in TARGETS:
            constraints = stage / "constraints" / f"{target.name}.txt"
            if not constraints.is_file():
                problems.append(f"{target.name}: no constraints file")
                continue
            resolution = resolve(target, wheels, Requirement(f"archfuse=={ver.group(1)}"))
            resolutions.append(resolution)
            if resolution.missing:
                problems.append(_missing_text(resolution))
            elif resolution.constraints() != constraints.read_text():
                problems.append(f"{target.name}: constraints differ from what the wheels resolve to")
        if problems:
            raise BundleError(f"{bundle} is incomplete: " + "; ".join(problems))
        return resolutions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="offline-bundle", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write dist/archfuse-<version>-offline.tar.gz")
    b.add_argument("--out", type=Path, default=ROOT / "dist")
    c = sub.add_parser("check", help="check that every Python and CPU resolves from the bundle alone")
    c.add_argument("bundle", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            bundle = build(args.out)
            resolutions = check(bundle)
            _summary(bundle, resolutions)
        else:
            _summary(args.bundle, check(args.bundle))
    except BundleError as error:
        print(f"offline-bundle: {error}", file=sys.stderr)
        return 1
    return 0


def _summary(bundle: Path, resolutions: list[Resolution]) -> None:
    compiled = sorted({w.name for r in resolutions for w in r.chosen.values() if w.compiled})
    with tarfile.open(bundle) as tar:
        count = sum(1 for m in tar.getmembers() if m.name.endswith(".whl"))
    size = bundle.stat().st_size
    print(f"{bundle}: {size / 1e6:.1f} MB, {count} wheels")
    print(f"  complete for {len(resolutions)} targets: " + ", ".join(r.target.name for r in resolutions))
    print(f"  compiled, one wheel per Python and CPU: {', '.join(compiled)}")


if __name__ == "__main__":
    sys.exit(main())
