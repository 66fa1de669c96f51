"""Benchmark the TUI's import against the CLI's one read (issue 21): two packages, a fresh registry.

    .venv/bin/python scripts/bench_tui_import.py [--payload 300MiB] [--repeat 2] [--work DIR]

Two sample packages (v0.11.0 amd64 and arm64, ``--payload`` incompressible bytes each) are made
once. Each measurement gets a fresh ``docker-registry`` on loopback and a fresh state dir (no scan
cache: a cold package):

- cli: ``archfuse import A B --registry URL --insecure --yes --json``, run in this process (its
  wall time from the command to its end; interpreter start not counted);
- tui: the app headless (``App.run_test``, 80×24) on the two packages: the background scan is
  waited for, then Target, Checks and plan, and Start (said yes to); timed from Start to the end
  of the run (and, apart, from opening the app to Checks and plan done: the background scan, the
  form filled in by the test with no typing time).

- session: the two paths without the faces, through the session: ``run`` after a scan the cache
  answers (what the TUI's Start does), against ``scan_to_import`` (rescan) then the plan and the
  run (what the CLI's cold import does), from the first call to the run's end.

Bytes read from the package files are counted in-process (every read of a package goes through
the package reader), for the whole command and, for the TUI, from Start on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.demo.samples import write_sample_package  # noqa: E402
from core.package import reader  # noqa: E402
from tests.fixtures.registry import RegistryServer  # noqa: E402

READ: dict[str, int] = {}


@contextmanager
def counting() -> Iterator[dict[str, int]]:
    """Bytes read from each package file (by name) while inside."""
    real = reader._Tap.read

    def read(self: Any, size: int = -1, /) -> bytes:
        data = real(self, size)
        name = Path(getattr(self._f, "name", "?")).name
        READ[name] = READ.get(name, 0) + len(data)
        return data

    READ.clear()
    reader._Tap.read = read  # type: ignore[method-assign]
    try:
        yield READ
    finally:
        reader._Tap.read = real  # type: ignore[method-assign]


def cli(packages: list[Path], server: RegistryServer, state: Path) -> tuple[float, int]:
    from tui.cli import main

    with counting() as read:
        began = time.monotonic()
        code = main(["import", *map(str, packages), "--registry", server.url, "--insecure", "--yes", "--json",
                     "--state-dir", str(state)])
        took = time.monotonic() - began
    assert code == 0, code
    return took, sum(read.values())


async def _tui(packages: list[Path], server: RegistryServer, state: Path) -> tuple[float, int, int, float]:
    from tests.tui_support import make_app, settle, start, to_checks
    from tui.target_settings import TargetSettings

    app = make_app()
    app.state.paths = packages
    app.workspace.state_dir = state
    app.state.settings = TargetSettings(registry=server.url, insecure=True)
    with counting() as read:
        opened = time.monotonic()
        async with app.run_test(size=(80, 24)) as pilot:
            await to_checks(pilot)
            before = sum(read.values())
            began = time.monotonic()
            checked = began - opened
            await start(pilot)
            await settle(pilot)
            took = time.monotonic() - began
            summary = app.state.summary
            assert summary is not None and summary.status == "done", summary
        after = sum(read.values())
    return took, after - before, after, checked


def session_paths(packages: list[Path], server: RegistryServer, state: Path, one_read: bool) -> tuple[float, int]:
    """The TUI's Start (the run, the scan cache answering) or the CLI's one read, through the session."""
    from core.api import RunOptions, open_session
    from core.config import build_target_config

    session = open_session(build_target_config(server.url, insecure=True, env={}), state_dir=state)
    try:
        indexes = session.scan(packages)  # the background scan's work, not timed
        with counting() as read:
            began = time.monotonic()
            if one_read:
                indexes = session.scan_to_import(packages, rescan=True, options=RunOptions())
            summary = session.run(session.preflight(indexes, options=RunOptions()), options=RunOptions())
            took = time.monotonic() - began
    finally:
        session.close()
    assert summary.status == "done", summary
    return took, sum(read.values())


def fresh(work: Path, name: str) -> RegistryServer:
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    server = RegistryServer(root)
    server.start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payload", default="300MiB")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    payload = int(args.payload.lower().removesuffix("mib")) << 20
    work = args.work or Path(tempfile.mkdtemp(prefix="archfuse-bench-tui-import-"))
    pk = work / "pk"
    if not pk.is_dir():
        pk.mkdir(parents=True)
        for arch in ("amd64", "arm64"):
            write_sample_package(pk, "v0.11.0", arch, payload=payload)
    packages = sorted(p for p in pk.iterdir() if not p.name.endswith(".sha512sum"))
    size = sum(p.stat().st_size for p in packages)
    print(f"packages: {', '.join(p.name for p in packages)}: {size / 2**20:.0f} MiB; load {os.getloadavg()}")
    os.chdir(work)
    rows: dict[str, list[float]] = {"cli": [], "tui": [], "session: run": [], "session: one read": []}
    for i in range(args.repeat):
        for state in work.glob("state-*"):
            shutil.rmtree(state)
        for name, one_read in (("session: run", False), ("session: one read", True)):
            server = fresh(work, f"reg-session-{i}")
            try:
                took, read = session_paths(packages, server, work / f"state-session-{i}", one_read)
            finally:
                server.stop()
            rows[name].append(took)
            print(f"{name}: {took:.2f} s, {read / 2**20:.0f} MiB read; load {os.getloadavg()[0]:.2f}", flush=True)
        server = fresh(work, f"reg-cli-{i}")
        try:
            took, read = cli(packages, server, work / f"state-cli-{i}")
        finally:
            server.stop()
        rows["cli"].append(took)
        print(f"cli cold import: {took:.2f} s, {read / 2**20:.0f} MiB read of {size / 2**20:.0f} MiB; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        server = fresh(work, f"reg-tui-{i}")
        try:
            took, from_start, total, checked = asyncio.run(_tui(packages, server, work / f"state-tui-{i}"))
        finally:
            server.stop()
        rows["tui"].append(took)
        print(f"tui from Start: {took:.2f} s, {from_start / 2**20:.0f} MiB read from Start "
              f"({total / 2**20:.0f} MiB with the background scan); open to Checks done (the background scan, "
              f"no typing): {checked:.2f} s; load {os.getloadavg()[0]:.2f}", flush=True)
    for name, values in rows.items():
        print(f"{name}: median {statistics.median(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
