"""Benchmark the TUI: start time to the first screen, and key-press latency while an import runs.

    .venv/bin/python scripts/bench_tui.py [--starts 7] [--payload 384MiB] [--presses 20]

start: a fresh interpreter runs the app headless (``App.run_test``, 80×24) and reports when the
first screen (Packages) is mounted; the parent times spawn → that report (so interpreter start
and imports count), median of ``--starts`` runs. Measured three times: with no packages named,
with the demo packages named, and with one package of ``--payload`` bytes named (with packages,
also until the matrix lists them, and until their background scan is done; no scan cache).

keys: one package with ``--payload`` incompressible bytes is imported into an OCI layout in a temp
dir through the real app and engine. While the run is going, F1 is pressed ``--presses`` times
(Escape closes the help in between), delivered as the terminal driver delivers keys; each
latency is from the key's delivery until the help screen is the app's screen (the handler's effect). The same is measured with the app idle, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    s = text.strip().lower().removesuffix("b").removesuffix("i")
    return int(float(s[:-1]) * units[s[-1]]) if s[-1] in units else int(s)


# -- start time ---------------------------------------------------------------------------------


async def _child_start(packages: str | None) -> None:
    """In the child: run the app until the first screen is mounted (and, with packages, scanned)."""
    from tui.app import create_app
    from tui.screens.packages import PackagesScreen
    from tui.widgets.matrix import PackageMatrix

    state = tempfile.mkdtemp(prefix="archfuse-bench-state-")
    app = create_app([Path(packages)] if packages else [], state, "layout", blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        while not (isinstance(app.screen, PackagesScreen) and app.screen.is_mounted):
            await asyncio.sleep(0.0005)
        print(f"first {time.time():.6f}", flush=True)
        if packages:
            while not app.screen.query_one(PackageMatrix).cells:
                await asyncio.sleep(0.0005)
            print(f"listed {time.time():.6f}", flush=True)
            while app.workers:
                await asyncio.sleep(0.0005)
            print(f"scanned {time.time():.6f}", flush=True)
        await pilot.press("ctrl+q")


def measure_start(runs: int, packages: Path | None) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"first": [], "listed": [], "scanned": []}
    for _ in range(runs):
        args = [sys.executable, __file__, "--child-start"] + ([str(packages)] if packages else [])
        started = time.time()
        done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
        for line in done.stdout.splitlines():
            what, at = line.split()
            out[what].append(float(at) - started)
    return out


# -- key latency --------------------------------------------------------------------------------


def _key(app: Any, key: str) -> None:
    """Deliver a key as the terminal driver does (Pilot.press would also wait for the app to idle)."""
    from textual import events

    event = events.Key(key, None)
    event.set_sender(app)
    app._driver.send_message(event)


async def _press_latencies(pilot: Any, presses: int, while_running: bool) -> list[float]:
    from tui.screens.dialogs import HelpScreen
    from tui.screens.run import RunScreen

    app = pilot.app
    seen: list[float] = []
    for _ in range(presses):
        if while_running and not (isinstance(app.screen, RunScreen) and app.screen.running):
            break
        t0 = time.perf_counter()
        _key(app, "f1")
        while not isinstance(app.screen, HelpScreen):
            await asyncio.sleep(0.0005)
        seen.append(time.perf_counter() - t0)
        _key(app, "escape")
        while isinstance(app.screen, HelpScreen):
            await asyncio.sleep(0.0005)
        await asyncio.sleep(0.05)
    return seen


async def measure_keys(work: Path, payload: int, presses: int) -> dict[str, Any]:
    from core.demo.samples import write_sample_package
    from tui.app import create_app
    from tui.screens.checks import ChecksScreen
    from tui.screens.packages import PackagesScreen
    from tui.screens.run import RunScreen
    from tui.tour import settle

    pk = work / "pk"
    pk.mkdir(parents=True)
    package = write_sample_package(pk, "v0.12.0", "amd64", payload=payload)
    app = create_app([pk], work / "state", str(work / "layout"), blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PackagesScreen)
        idle = await _press_latencies(pilot, presses, while_running=False)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen) and app.state.preflight and not app.state.preflight.failed
        await pilot.press("s")
        await pilot.pause()
        started = time.perf_counter()
        _key(app, "y")
        while not isinstance(app.screen, RunScreen):
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.2)  # let the upload get going
        running = await _press_latencies(pilot, presses, while_running=True)
        await app.workers.wait_for_complete()
        took = time.perf_counter() - started
        summary = app.state.summary
        await pilot.press("ctrl+q")
    return {
        "idle": idle,
        "running": running,
        "run_seconds": took,
        "status": summary.status if summary else "?",
        "package_bytes": package.stat().st_size,
    }


# -- report -------------------------------------------------------------------------------------


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {max(values) * 1000:.1f} ms (n={len(values)})")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-start":
        asyncio.run(_child_start(sys.argv[2] if len(sys.argv) > 2 else None))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=7)
    parser.add_argument("--payload", default="384MiB")
    parser.add_argument("--presses", type=int, default=20)
    args = parser.parse_args()
    from core.demo.samples import write_demo_set, write_sample_package

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="archfuse-bench-tui-") as tmp:
        work = Path(tmp)
        demo = work / "demo"
        write_demo_set(demo)
        empty = measure_start(args.starts, None)
        print(f"start to first screen (no packages):   {_ms(empty['first'])}")
        named = measure_start(args.starts, demo)
        print(f"start to first screen (demo packages): {_ms(named['first'])}")
        print(f"start to listed matrix (4 packages):   {_ms(named['listed'])}")
        print(f"start to scanned matrix (4 packages):  {_ms(named['scanned'])}")
        write_sample_package(work / "big", "v0.12.0", "amd64", payload=parse_size(args.payload))
        big = measure_start(args.starts, work / "big")
        print(f"start to listed matrix ({args.payload} package): {_ms(big['listed'])}")
        print(f"start to scanned matrix ({args.payload} package): {_ms(big['scanned'])}")
        keys = asyncio.run(measure_keys(work / "keys", parse_size(args.payload), args.presses))
        print(f"key press handled, app idle:           {_ms(keys['idle'])}")
        print(f"key press handled, import running:     {_ms(keys['running'])}")
        print(f"import: {keys['package_bytes'] / (1 << 20):.0f} MiB package, {keys['status']} "
              f"in {keys['run_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
