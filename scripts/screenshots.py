"""Render every screen of the TUI from real runs into screenshots/ (SVG, plus PNG when possible).

First the walk through every screen on the demo packages into an OCI layout; then what matters
when things are not plain (each from a real run, against the OCI layout or a real
``docker-registry serve`` on loopback): a failed check, warnings (a chart conflict), a run in
progress (rates, ETA, per-image rows; uploads held to a slow rate), a stall (the registry paused
with SIGSTOP mid-run), and the summary of an upgrade that leaves a missing arch and keeps a
conflicting chart.

The demo packages and the OCI layout go in a temp dir, named relatively, so no machine path
shows in the pictures. PNGs need librsvg and cairo (scripts/svg2png.py); without them only
the SVGs are written.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.demo.samples import write_demo_set  # noqa: E402
from core.run.engine import RunOptions  # noqa: E402
from tui.app import ArchfuseApp, create_app  # noqa: E402
from tui.target_settings import TargetSettings  # noqa: E402
from tui.tour import settle, walk  # noqa: E402
from tui.widgets.progress import InFlight  # noqa: E402

NAME = "addon-offline-full-package-{}-{}.tar.gz"
SLOW = 6 << 10  # bytes per second while a run is photographed in progress

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


async def shoot(out: Path, size: tuple[int, int], suffix: str) -> list[Path]:
    app = create_app([Path("pk")], "state", "layout", blink=False)
    written = []
    async with app.run_test(size=size) as pilot:
        number = 0
        async for stop in walk(pilot):
            number += 1
            name = f"{number:02d}-{stop}{suffix}.svg"
            app.save_screenshot(name, str(out))
            written.append(out / name)
    return written


async def press(pilot: Any, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def save(app: ArchfuseApp, out: Path, name: str, written: list[Path]) -> None:
    app.save_screenshot(name, str(out))
    written.append(out / name)


async def to_checks(pilot: Any) -> None:
    await settle(pilot)
    await press(pilot, "n")
    await press(pilot, "ctrl+n")


async def failed_check(app: ArchfuseApp, pilot: Any, shot: Callable[[str], None]) -> None:
    """A target that is not one: the failed check first, with its fix."""
    await to_checks(pilot)
    shot("failed-check")


async def chart_conflict(app: ArchfuseApp, pilot: Any, shot: Callable[[str], None]) -> None:
    """Someone changed a chart the last run pushed: the warning first, f to overwrite."""
    from core.charts.oci import OciChartDestination
    from core.charts.repack import repack, unpack
    from core.targets.layout import LayoutTarget

    await to_checks(pilot)
    await press(pilot, "s", "y")
    layout = LayoutTarget(Path("layout"))
    manifest = layout.get_manifest("addon/metrics-server", "3.8.3")
    assert manifest is not None
    _top, files = unpack(layout.get_blob("addon/metrics-server", manifest.parsed()["layers"][0]["digest"]), what="chart")
    files["values.yaml"] += b"# edited by hand\n"
    OciChartDestination(layout).push("metrics-server", "3.8.3", repack("metrics-server", files), repo="addon", force=True)
    await press(pilot, "escape")  # back to Checks: planned again
    shot("warnings")


async def run_in_progress(app: ArchfuseApp, pilot: Any, shot: Callable[[str], None], registry: Any) -> None:
    """A real run into the registry, uploads held to a slow rate: bytes, rate, ETA, per-image rows."""
    await to_checks(pilot)
    await pilot.press("s", "y")
    await asyncio.sleep(3)
    await pilot.pause()
    shot("run-in-progress")
    await settle(pilot)


async def stall(app: ArchfuseApp, pilot: Any, shot: Callable[[str], None], registry: Any) -> None:
    """A real run started while the registry is paused (SIGSTOP): the screen says nothing moves, and
    what it waits for, until the registry answers again."""
    await to_checks(pilot)
    registry.pause()
    try:
        await pilot.press("s", "y")
        for _ in range(80):  # the stall line comes after RunOptions.stall_after seconds without progress
            await asyncio.sleep(0.25)
            await pilot.pause()
            if "no progress" in str(app.screen.query_one(InFlight).render()):
                break
        await asyncio.sleep(2)  # a few seconds more on the stall counter
        await pilot.pause()
        shot("stall")
    finally:
        registry.resume()
    await settle(pilot)


async def upgrade_summary(app: ArchfuseApp, pilot: Any, shot: Callable[[str], None], registry: Any) -> None:
    """v0.11.0 amd64 + arm64 imported before; an edited chart pushed by someone else; then the
    upgrade with v0.12.0 amd64 only: the summary shows the missing arch and the kept chart."""
    await settle(pilot)
    matrix = app.screen.query_one("#matrix")
    matrix.move_cursor(row=0, column=3)  # v0.12.0 arm64 off: only amd64 of the new version
    await press(pilot, "space")
    await press(pilot, "n")
    await press(pilot, "ctrl+n")
    shot("upgrade-checks")
    await press(pilot, "s", "y")
    await press(pilot, "n")
    shot("summary-missing-arch")


async def chart_checklist(app: ArchfuseApp, pilot: Any, shot: Callable[[str], None]) -> None:
    """The chart checklist (c on Packages): two charts of the four taken."""
    await settle(pilot)
    await press(pilot, "c")
    await press(pilot, "a")  # none
    await press(pilot, "space", "down", "down", "space")  # cert-manager and metrics-server
    shot("chart-checklist")


async def prune_plan(app: ArchfuseApp, pilot: Any, shot: Callable[[str], None]) -> None:
    """Free space (f on History) after two versions were imported: keep 1, the plan."""
    await settle(pilot)
    app.action_history()
    await settle(pilot)
    await press(pilot, "f")
    await press(pilot, "minus")
    shot("prune-plan")


def two_versions_imported() -> None:
    """v0.11.0 then v0.12.0, both arches, into the layout: what a prune meets."""
    for version in ("v0.11.0", "v0.12.0"):
        packages = [f"pk/{NAME.format(version, arch)}" for arch in ("amd64", "arm64")]
        subprocess.run([sys.executable, "-m", "tui.cli", "import", *packages, "--registry", "layout", "--yes",
                        "--state-dir", "state"], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})


async def resume_offer(out: Path, size: tuple[int, int], suffix: str, number: int) -> list[Path]:
    """A run stopped mid-way (as a dropped SSH session stops it), then archfuse started again on the
    same state: it offers to resume that run with the same packages and target."""
    first = create_app([Path("pk")], "state", "layout", blink=False, options=RunOptions(rate_limit=SLOW))
    async with first.run_test(size=size) as pilot:
        await to_checks(pilot)
        await pilot.press("s", "y")
        await asyncio.sleep(1.5)
        await pilot.pause()
        await press(pilot, "escape", "y")  # stop safely
    written: list[Path] = []
    again = create_app([Path("pk")], "state", None, blink=False)
    async with again.run_test(size=size) as pilot:
        await settle(pilot)
        save(again, out, f"{number:02d}-resume-offer{suffix}.svg", written)
    return written


def before_upgrade(registry: Any) -> None:
    """The state an upgrade meets: v0.11.0 of both arches imported, one chart changed by hand."""
    from core.charts.oci import OciChartDestination
    from core.charts.repack import repack
    from core.targets.registry import RegistryTarget

    packages = [f"pk/{NAME.format('v0.11.0', arch)}" for arch in ("amd64", "arm64")]
    subprocess.run([str(ROOT / ".venv/bin/archfuse"), "import", *packages, "--registry", registry.url, "--insecure",
                    "--yes", "--state-dir", "state"], check=True, capture_output=True)
    target = RegistryTarget(registry.client(), registry.url)
    charts = OciChartDestination(target)
    other = {"values.yaml": b"# a chart someone else pushed\n", "Chart.yaml": b"apiVersion: v2\nname: metrics-server\n"
             b"version: 3.8.3\n"}
    charts.push("metrics-server", "3.8.3", repack("metrics-server", other), repo="addon", force=True)
    target.close()


Case = Callable[..., Awaitable[None]]


async def shoot_case(out: Path, size: tuple[int, int], suffix: str, number: int, case: Case,
                     registry: Any = None, target: str = "layout", options: RunOptions | None = None) -> list[Path]:
    """One hard case from a fresh demo set and state, its pictures numbered from ``number``."""
    app = create_app([Path("pk")], "state", target, blink=False, options=options)
    if registry is not None:
        app.state.settings = TargetSettings(registry=registry.url, insecure=True)
    written: list[Path] = []
    count = [number]

    def shot(name: str) -> None:
        save(app, out, f"{count[0]:02d}-{name}{suffix}.svg", written)
        count[0] += 1

    async with app.run_test(size=size) as pilot:
        if registry is None:
            await case(app, pilot, shot)
        else:
            await case(app, pilot, shot, registry)
    return written


def fresh(demo: bool = True) -> None:
    for sub in ("pk", "layout", "state", "notadir"):
        path = Path(sub)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    if demo:
        write_demo_set(Path("pk"))


def with_registry(case: Callable[[Any], Awaitable[list[Path]]]) -> list[Path]:
    """Run one hard case against a fresh demo set and a fresh real registry, stopped afterwards."""
    from tests.fixtures.registry import RegistryServer

    fresh()
    registry = RegistryServer(Path(tempfile.mkdtemp(prefix="archfuse-shots-registry-")))
    registry.start()
    try:
        return asyncio.run(case(registry))
    finally:
        registry.stop()


def hard_cases(out: Path, size: tuple[int, int], suffix: str, first: int) -> list[Path]:
    """Failed check, warnings, run in progress, stall, upgrade summary, chart checklist, resume offer, prune plan
    (numbered from ``first``)."""

    written: list[Path] = []
    fresh()
    Path("notadir").write_text("a file, not an OCI layout")
    written += asyncio.run(shoot_case(out, size, suffix, first, failed_check, target="notadir"))
    fresh()
    written += asyncio.run(shoot_case(out, size, suffix, first + 1, chart_conflict))
    slow = RunOptions(rate_limit=SLOW)
    written += with_registry(lambda registry: shoot_case(out, size, suffix, first + 2, run_in_progress, registry,
                                                         options=slow))
    written += with_registry(lambda registry: shoot_case(out, size, suffix, first + 3, stall, registry))

    def upgrade(registry: Any) -> Awaitable[list[Path]]:
        before_upgrade(registry)
        return shoot_case(out, size, suffix, first + 4, upgrade_summary, registry)

    written += with_registry(upgrade)
    fresh()
    written += asyncio.run(shoot_case(out, size, suffix, first + 6, chart_checklist))
    fresh()
    written += asyncio.run(resume_offer(out, size, suffix, first + 7))
    fresh()
    two_versions_imported()
    written += asyncio.run(shoot_case(out, size, suffix, first + 8, prune_plan))
    return written


def main() -> int:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.svg"):
        old.unlink()
    for old in out.glob("*.png"):
        old.unlink()
    here = os.getcwd()
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="archfuse-shots-") as tmp:
        os.chdir(tmp)
        try:
            for label, size in SIZES.items():
                for sub in ("pk", "layout", "state"):
                    shutil.rmtree(sub, ignore_errors=True)  # a fresh demo run for each size
                write_demo_set(Path("pk"))
                suffix = "" if label == "80x24" else f"-{label}"
                walked = asyncio.run(shoot(out, size, suffix))
                written += walked
                written += hard_cases(out, size, suffix, len(walked) + 1)
        finally:
            os.chdir(here)
    sys.path.insert(0, str(ROOT / "scripts"))
    from svg2png import _libs, convert

    if _libs() is None:
        print("screenshots: librsvg/cairo not found; wrote SVG only.", file=sys.stderr)
    else:
        for svg in written:
            convert(str(svg), str(svg.with_suffix(".png")))
    for path in sorted(out.iterdir()):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
